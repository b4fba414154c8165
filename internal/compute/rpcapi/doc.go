// Package rpcapi is gonova's compute RPC API: the methods nova-compute serves
// on topic "compute" at version 6.1 (Version), their argument and result types, and a
// typed client (nova's nova/compute/rpcapi.py ComputeAPI) that nova-api uses
// to reach one compute host.
//
// # Why
//
// The server (internal/compute/manager) and its callers must agree on method
// names, versions and JSON field names, or a cast is dropped as bad arguments
// on the far side. Keeping both halves in one small package, which imports
// neither the manager nor the API handlers, makes that agreement a compile-time
// fact, and gives callers typed errors to map to HTTP statuses instead of
// parsing a RemoteError's class.
//
// # Wire format
//
// Every method is sent to Target{Topic: "compute", Server: host, Version:
// its version}, as nova's client prepares it (server = the instance's host):
// 6.0, and 6.1 for build_and_run_instance. The arguments are nova's keyword
// arguments:
//
//	build_and_run_instance  (cast) {"instance": {...}, "node": "n", "request_spec": null, "filter_properties": {}, ..., "power_on": false (6.1, when set)}
//	terminate_instance      (cast) {"instance": {...}, "bdms": []}
//	reboot_instance         (cast) {"instance": {...}, "block_device_info": null, "reboot_type": "SOFT"|"HARD"}
//	get_console_output      (call) {"instance": {...}, "tail_length": 20 | null} -> string
//	get_diagnostics         (call) {"instance": {...}} -> diagnostics object (microversion 2.48 shape)
//	stop_instance           (cast) {"instance": {...}, "clean_shutdown": true}
//	start_instance, pause_instance, unpause_instance, suspend_instance, resume_instance
//	                        (cast) {"instance": {...}}
//	rebuild_instance        (cast, 6.1) {"instance": {...}, "new_pass": ..., "image_ref": ..., "orig_image_ref": ...,
//	                        "recreate": false, ..., "reimage_boot_volume": false (dropped under a 6.0 cap)}
//	prep_resize             (cast, to the destination) {"instance", "image", "flavor": {"flavorid", "vcpus", "memory_mb", "root_gb"},
//	                        "request_spec", "filter_properties", "node", "migration": {...}, "clean_shutdown", "host_list"}
//	resize_instance         (cast, to the source) {"instance", "migration", "image", "flavor", "clean_shutdown", "request_spec"}
//	finish_resize           (cast, to the destination) {"instance", "migration", "image", "disk_info", "request_spec"}
//	confirm_resize          (cast, to the source) {"instance", "migration"}
//	revert_resize           (cast, to the destination), finish_revert_resize (cast, to the source)
//	                        {"instance", "migration", "request_spec"}
//
// The resize methods are nova's 6.0 methods, served from service version 4
// (versions.Resize), checked by nova-api as the server actions are. The
// migration is a plain object ({"source_compute", "source_node",
// "dest_compute", "dest_node", "status", "migration_type"}): gonova keeps no
// migrations table, the instance's resize columns are the record.
//
// The server actions (stop_instance ... rebuild_instance) are nova's 6.0
// and 6.1 methods at nova's versions; gonova computes serve them from
// service version 3 (versions.ServerActions), which nova-api checks on the
// instance's host before it sends one, as a version cap cannot tell.
//
// The instance travels as a plain JSON object (see Instance), not as nova's
// versioned-object primitive ({"nova_object.name": "Instance", ...}): a
// Python nova peer would not accept it, and gonova's compute reloads the
// instance from the database by uuid anyway, so only "uuid" is load-bearing.
// Arguments nova sends that gonova's compute has no use for (block device
// mappings, networks, limits) are sent as nova sends them when empty, so the
// argument list matches nova's signature, and ignored by the server.
//
// # Version pinning
//
// Options.VersionCap is nova's [upgrade_levels] compute: during a rolling
// upgrade the API is capped at what the oldest compute understands. It is a
// version ("6.0"), a release name as nova's VERSION_ALIASES ("zed" = 6.1,
// "wallaby" = 6.0), or "auto": the compute RPC version the oldest live
// nova-compute row serves, by its service version and the history in
// internal/compute/versions (nova's _determine_version_cap). Auto is chosen
// at the first message or by Reset, logged as nova logs it
//
//	Automatically selected compute RPC version 6.0 from minimum service version 1
//
// and kept until the next Reset (SIGHUP), as nova caches LAST_VERSION; while
// no nova-compute row exists the newest version is used and not kept.
//
// Under the cap a method is sent in its older form when it has one: at 6.0,
// build_and_run_instance goes without power_on (nova's
// client.can_send_version('6.1') backport), and power_on=false, which a 6.0
// compute cannot honour, is refused. Other methods above the cap are refused
// before anything is sent, with an error matching rpcsvc.ErrVersionCap.
//
// # Errors
//
// A compute's handler returns InstanceNotFoundError or
// InstanceInvalidStateError, which cross the wire with nova's exception class
// names (nova.exception.InstanceNotFound, InstanceInvalidState). The client
// turns such remote errors back into errors matching ErrInstanceNotFound and
// ErrInstanceInvalidState, so callers use errors.Is on both sides of the wire.
//
// # Logging
//
// Options.Logger gets the cap auto chose (Info), the no-compute-yet notice
// (Debug) and nova's "I am too old" (Error). Otherwise the client does not
// log; it returns errors that name the method and host.
// The transport (pkg/rpcsvc) logs its own retries.
//
// # Metrics
//
// None of its own: pkg/rpcsvc measures every call's round trip
// (gonova_rpc_call_duration_seconds{method}).
package rpcapi
