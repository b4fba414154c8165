// Package pgstore is the Postgres implementation of registry.Store, over a
// pgx pool and the services table of migrations/00001_services.sql.
//
// # Why
//
// Postgres is where a real deployment keeps its service records: every
// service and the API share them. The store's clock is the database's, so
// Report stamps last_seen_up with now() on the server and List returns now()
// with the rows; liveness never compares two hosts' clocks.
//
// Race-safety comes from the unique keys, not from locks: Create lets the
// insert fail with a unique violation and maps the violated constraint to a
// registry.DuplicateError; registry.FindOrCreate then reads the winner's row.
// Heartbeats are a single UPDATE by primary key, so thousands of services can
// report through one pool (see BenchmarkHeartbeatReports).
//
// # Logging
//
// The package does not log; errors are returned to the caller.
//
// # Metrics
//
// The package exports no metrics.
package pgstore
