// Package registry is gonova's service registry: the services table that every
// nova service registers itself in, heartbeats into, and that os-services lists.
//
// # Why
//
// Several parts of gonova read and write service records: a service's start-up
// finds or creates its row, the servicegroup heartbeat increments report_count,
// the API lists, enables, disables, forces down and deletes them. They share
// one record type (Service, every column of nova's table) and one Store
// interface with two implementations: pgstore over Postgres, and memstore in
// memory for `make run` on a machine with nothing but Go. A single contract
// suite (registrytest.RunContract) runs against both, so the in-memory store
// cannot drift from the real one.
//
// Behaviour kept from nova:
//
//   - Soft delete: deleted = 0 while live, = id after; the live row of a
//     (host, binary) or (host, topic) is unique.
//   - Creating a row can race with a sibling worker; FindOrCreate treats a
//     duplicate as "someone else created it", reads the row back and goes on.
//   - With enable_new_services = false, a newly created nova-compute row starts
//     disabled with reason NewServiceDisabledReason (CreateOptions).
//   - MinimumVersion is nova's service_get_minimum_version: the lowest version
//     of the live, not forced down rows of a binary (0 when none), what a
//     rolling upgrade's version pin and start-up check read.
//
// Where gonova differs: Report stamps last_seen_up with the store's clock (the
// database clock for pgstore) and List returns that clock's "now" with the
// rows, so liveness compares two readings of one clock and skew between hosts
// cannot make a service look down.
//
// # Logging
//
// The package does not log; callers log what they decide.
//
// # Metrics
//
// The package exports no metrics; the heartbeat's metrics are in
// pkg/service/servicegroup.
package registry
