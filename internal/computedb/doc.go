// Package computedb keeps the compute side of nova's data: the compute_nodes
// rows that nova-compute writes from its resource tracker (and nova-api shows
// as os-hypervisors and schedules against), and the instances rows that both
// sides read and write.
//
// It also keeps what nova keeps in its API database and the compute API
// reads and writes: flavors with their extra specs and access lists
// (flavors.go, FlavorStore), the users' key pairs (keypairs.go,
// KeyPairStore), and each instance's tags, key name and copy of its flavor
// (instance_edit.go; EditInstance changes metadata and tags under the row's
// lock, so a limit holds across API workers).
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
// filter on both. A trigram index (pg_trgm, migration 5) serves name
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
//
// # Resource claims
//
// An instance holds its flavor's vcpus, memory and root disk on one node
// (instances.claim_node_id), and the node's usage counters are the sum of
// what its instances hold (plus the reserved memory and disk, as nova counts
// them). ClaimInstance, ReleaseClaim and DeleteInstance change a claim and
// the node's counters in one statement: in Postgres a conditional UPDATE of
// compute_nodes (`vcpus_used + want <= floor((vcpus - reserved) × ratio)`, and
// the same for memory and disk, as placement computes capacity), which
// Postgres re-checks against the newest row when a concurrent claim committed
// first, so claims from any number of processes and hosts never exceed a
// node's capacity; the in-memory store does the same under its mutex. Each
// locks the instance row before the node's; ReportNode (nova-compute's
// periodic write) locks only the node's row and then recomputes the counters
// from the claims, so it never undoes a claim made meanwhile. A claim is
// released at most once: the release clears claim_node_id under the
// instance's row lock, and a second release (or a delete) finds none.
//
// Ratios and reserved amounts live on the node row (nova keeps them in
// placement's inventory): nova-compute writes its cpu_allocation_ratio,
// ram_allocation_ratio and disk_allocation_ratio when set, a new node takes
// the initial_*_allocation_ratio values (16.0, 1.5, 1.0), and a node written
// by UpsertNode alone has 1.0 and nothing reserved.
package computedb
