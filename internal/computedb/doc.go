// Package computedb keeps the compute side of nova's data: the compute_nodes
// rows that nova-compute writes from its resource tracker (and nova-api shows
// as os-hypervisors and schedules against), and the instances rows that both
// sides read and write.
//
// Why a package of its own: the service registry (pkg/registry) is framework;
// these tables are nova's domain, used by nova-compute (internal/compute/manager),
// nova-api's compute.API (internal/compute/api), the scheduler and the
// os-hypervisors handlers. The states in the instances rows are the typed
// ones of internal/compute/states.
//
// Two stores pass one contract suite (contract_test.go): Postgres (pgx) for real
// deployments and an in-memory store for the embedded default (`make run`) and
// fast unit tests.
//
// # Concurrency
//
// UpdateInstance takes an optional expected task state, as nova's
// instance.save(expected_task_state=...) does: an update that finds another task
// state fails with ErrConflict, so a reboot racing a delete cannot overwrite it.
package computedb
