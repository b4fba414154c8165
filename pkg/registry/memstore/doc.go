// Package memstore is an in-memory registry.Store.
//
// # Why
//
// `make run` must work on a machine with nothing but Go, so the all-in-one
// process needs a service registry without Postgres. memstore keeps the rows
// in a map behind a mutex and enforces the same unique keys, soft delete and
// error values as pgstore; registrytest.RunContract runs against both, so
// code that works on one works on the other.
//
// Its clock (clock.Clock, injectable) plays the database clock's part: Report
// and List read it, so IsUp behaves as with Postgres and tests can move time.
//
// # Logging
//
// The package does not log.
//
// # Metrics
//
// The package exports no metrics.
package memstore
