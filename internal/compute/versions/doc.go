// Package versions is gonova's service version history: nova's
// SERVICE_VERSION, SERVICE_VERSION_HISTORY and OLDEST_SUPPORTED_SERVICE_VERSION
// (nova/objects/service.py), as one table.
//
// # Why
//
// A deployment upgrades one process at a time, so for a while old and new
// nova-compute services run side by side. Each service records its service
// version in its services row; the table here says which compute RPC API
// version a nova-compute at each service version serves. nova-api reads the
// oldest nova-compute's service version from the services table and, with
// [upgrade_levels] compute = auto, sends nothing newer than what that compute
// serves (internal/compute/rpcapi); every service refuses to start when the
// oldest compute is older than this release supports (internal/nova). Keeping
// the table in one leaf package lets the RPC client, the manager and the
// wiring agree on it without importing each other.
//
// # The history
//
//	service version  compute RPC  change
//	0                -            pre-history: a row that records no version (never written by gonova)
//	1                6.0          gonova's first release: build_and_run_instance, terminate_instance,
//	                              reboot_instance, get_console_output, get_diagnostics
//	2                6.1          build_and_run_instance takes power_on (false: build the guest and leave it stopped)
//
// A change to the compute RPC API adds an entry at the end, with the new
// version in rpcapi.Version and the manager serving it; Current follows the
// table. OldestSupported is raised at the start of a release cycle, as nova
// raises OLDEST_SUPPORTED_SERVICE_VERSION, to the first service version of the
// previous release: gonova supports upgrading from one release to the next.
//
// # Logging and metrics
//
// None: the package is a table and its lookups.
package versions
