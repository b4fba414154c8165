// Package manager is nova-compute's manager: nova's ComputeManager for one
// host, over a virt.Driver and the computedb.Store. It implements
// service.Manager, so pkg/service runs it like any other manager, and serves
// the compute RPC API of package rpcapi.
//
// # Why
//
// The service framework (pkg/service) knows how to start, heartbeat, run
// periodic tasks and stop; this package is the nova-specific work it
// drives: building, rebooting and deleting instances, keeping the instances
// rows of the host true to the hypervisor, and publishing the host's
// resources in compute_nodes for the API and the scheduler. Keeping it apart
// from the driver (which only knows guests) and from the store (which only
// knows rows) puts nova's state machine — vm_state, task_state, power_state
// and their compare-and-set transitions — in one place that can be tested
// against the in-memory driver and store in milliseconds, and against
// Postgres and a real transport without change.
//
// # Lifecycle
//
//   - InitHost: driver init_host, then nova's _init_instance over the
//     host's instances (interrupted builds to error, interrupted deletes
//     finished, stale task states cleared, power states refreshed).
//   - PreStartHook: records the service row's id and runs
//     update_available_resource once, so a new host can take work at once.
//   - Endpoints: build_and_run_instance, terminate_instance,
//     reboot_instance, stop_instance, start_instance, pause_instance,
//     unpause_instance, suspend_instance, resume_instance, rebuild_instance,
//     prep_resize, resize_instance, finish_resize, confirm_resize,
//     revert_resize, finish_revert_resize (resize.go; a resize's hop to
//     another host goes through Options.Peers) (casts; each inside nova's compute_<method> instance action event,
//     found by the request id the cast carries), get_console_output,
//     get_diagnostics (calls),
//     on an Endpoint value so the lifecycle methods are not served, at
//     compute RPC version rpcapi.Version (6.1), or at an older release's
//     version with Options.RPCVersion (a rolling upgrade's old compute).
//   - PeriodicTasks: update_available_resource (ResourceSpacing, default
//     60 s), _sync_power_states (SyncPowerStateSpacing, default 600 s) and,
//     with InstanceBuildTimeout (nova's instance_build_timeout; gonova's
//     nova.conf default 3600 s, nova's 0), _check_instance_build_time:
//     instances of the host building longer than that since creation go to
//     vm_state error with the fault "Instance build timed out. Set to error
//     state." (every min(60 s, timeout/2)).
//   - Shutdown: refuses new handler runs (retryably, so casts return to the
//     queue), waits for running ones until its context ends, then cancels
//     them and names them in its error. nova did not wait at all.
//
// A build or delete interrupted by a crash is repaired by the next InitHost;
// one cancelled by Shutdown records vm_state error itself.
//
// # Resource claims
//
// nova's resource tracker, on the claims of internal/computedb: a build
// checks that the instance holds its resources on this host's node (the
// scheduler's claim, or one made on the spot for an instance cast here
// without), and fails with nova's "Insufficient compute resources: ..."
// fault when the node cannot take it. A build that fails, and an instance
// that init_host puts in ERROR, gives its claim back; a delete gives it back
// with the row. update_available_resource writes capacity, reserved amounts
// and allocation ratios, and leaves the usage to the claims (recomputed from
// them under the node's row lock), so it never fights a placement in flight.
//
// # Notifications
//
// With Options.Notifier (internal/notifications), nova's instance
// notifications, published as nova-compute:<host>: instance.create.start
// (once the build is claimed), .end or .error (the resource claim or the
// spawn failed, or the instance was deleted while it spawned); instance.delete.start and .end;
// instance.reboot.start, then .end (and .error before it when the driver
// failed but the guest runs, as nova). Legacy compute.instance.* ones too
// when notification_format says so. A notification that cannot be sent is
// logged and never fails the operation.
//
// # Logging
//
// log/slog, every record with "host"; handler records add "method",
// "instance_uuid" and the caller's "request_id". Info: each spawn, reboot and
// delete, and start-up repairs. Warn: power states that changed behind nova's
// back, guests no row accounts for, shutdown deadlines passed. Error: failed
// spawns (with the driver's reason; the instance goes to vm_state error),
// failed reboots and destroys, resource updates that failed at start-up.
// Debug: skipped instances and compute node writes.
//
// # Metrics
//
// Registered on Options.Registerer (none when nil):
//   - gonova_compute_instances{vm_state}: instances on this host by
//     vm_state at the last update_available_resource; nova's vm_states are
//     created at zero, anything else counts as "other".
//   - gonova_compute_builds_total{outcome}: build_and_run_instance handled,
//     outcome success, failure (vm_state error), duplicate (already built or
//     being built) or aborted (deleted before or during the build); all
//     created at zero.
//   - gonova_compute_driver_call_duration_seconds{call}: virt driver calls
//     (spawn, destroy, reboot, get_info, ...).
//   - gonova_compute_build_timeouts_total{outcome}: instances
//     _check_instance_build_time found building too long: error (failed) or
//     changed (moved on meanwhile); both created at zero.
//
// RPC-level counts and durations per method are pkg/rpcsvc's.
package manager
