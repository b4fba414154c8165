// Package scheduler places new instances on compute hosts for nova-api.
//
// # Why
//
// nova runs a separate nova-scheduler service backed by placement. gonova's
// API needs only the decision nova's default filters make for a boot request
// without hints: a host whose nova-compute service is up (by the database
// clock, as servicegroup decides), enabled and not forced down, whose
// compute_nodes row still has room for the flavor's vcpus, RAM and root disk
// once the instances already placed on it are counted. Among those the one
// with the most free RAM wins, as nova's RAMWeigher (multiplier 1.0) spreads
// instances.
//
// The room a node has left is what its compute_nodes row says: nova-compute
// reports the capacity, reserved amounts and allocation ratios, and the
// usage counters move only with claims. Placing an instance is a claim
// (computedb.Store.ClaimInstance): a conditional write of the node's usage
// in Postgres, which Postgres serialises per node, so any number of API
// workers and nova-api processes can place at once and never overcommit a
// host. A candidate that refuses the claim (another placement took the room
// between the read and the claim) gives way to the next one; when none
// takes it, the boot fails with NoValidHost, as in nova. The claim replaces
// nova's placement allocation; the compute's resource tracker checks it
// again when it builds (internal/compute/manager).
//
// A member of a server group (the boot's "group" hint) is placed by
// ScheduleInGroup, as nova's ServerGroup(Anti)AffinityFilter and
// ServerGroupSoft(Anti)AffinityWeigher place it (groups.go): under a hard
// policy the claim itself refuses a host that breaks it, checked under the
// group's row lock in the claim's transaction (computedb.GroupClaim), so
// members placed at once by several processes still keep it; a soft policy
// only orders the candidates.
//
// # Logging
//
// Debug lines for each host that was filtered out and why; an Info line for
// each placement; a Debug line for each refused claim; a Warn line for
// NoValidHost.
//
// # Metrics
//
// None: the API's request metrics count boots and their outcomes.
package scheduler
