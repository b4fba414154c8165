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
// # Listing
//
// ListInstances is nova's instance_get_all_by_filters_sort: exact filters
// (Exact), Python regexes (Regex, translated by internal/pyregex so that
// Postgres's `~` and Go's regexp agree with re.search), changes-since and
// changes-before on updated_at, live, deleted and soft-deleted rows, any
// sort keys (NULL after every value, text in the C collation) and keyset
// paging from a marker that may be any instance, deleted ones included.
// The Postgres store builds one parameterised query (filter.go names the
// columns, no value is ever put in the SQL text); the in-memory store
// applies the same rules row by row, and the contract test runs every
// filter on both. A trigram index (pg_trgm, migration 4) serves name
// filters; a regex query is planned with its pattern (not as a cached
// generic plan) so that it can use it.
//
// gonova keeps no server tags or locks yet: tags and tags-any match no
// instance, not-tags and not-tags-any every one, locked=true none.
//
// # Concurrency
//
// UpdateInstance takes an optional expected task state, as nova's
// instance.save(expected_task_state=...) does: an update that finds another task
// state fails with ErrConflict, so a reboot racing a delete cannot overwrite it.
package computedb
