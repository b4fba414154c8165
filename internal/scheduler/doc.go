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
// The choice and the write of the instance's host happen under one lock, so
// concurrent boots served by one API process never overcommit a host. Two
// API processes can still race (nova closes that race with placement
// allocations; gonova has no placement): run one nova-api writer, or accept
// the rare overcommit that the compute's own resource tracker then reports.
//
// # Logging
//
// Debug lines for each host that was filtered out and why; an Info line for
// each placement; a Warn line for NoValidHost.
//
// # Metrics
//
// None: the API's request metrics count boots and their outcomes.
package scheduler
