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
// # Input and outages
//
// Both stores refuse, with ErrInvalid (an *InvalidError naming the field,
// never quoting the value) and before writing anything, every value
// Postgres would refuse: text that is not UTF-8 or holds a NUL, text longer
// than its varchar column (255 characters; host_ip 64), metadata keys and
// values beyond nova's 255, integers beyond an integer column's range. So
// the embedded default refuses exactly what a deployment refuses; the API
// answers 400. Ids no row can have (an integer id beyond the serial range,
// a string that is not a uuid) are ErrNotFound without a query, and every
// spelling of a uuid that uuid.Parse accepts (upper case, braces,
// urn:uuid:, no hyphens) names the same row. The Postgres store marks a
// failure to reach the database db.ErrUnavailable (pkg/db.Classify), which
// the API answers 503, not 500.
//
// # Concurrency
//
// UpdateInstance takes an optional expected task state, as nova's
// instance.save(expected_task_state=...) does: an update that finds another task
// state fails with ErrConflict, so a reboot racing a delete cannot overwrite it.
package computedb
