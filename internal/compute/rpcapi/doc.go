// Package rpcapi is gonova's compute RPC API: the methods nova-compute serves
// on topic "compute" at version 6.0, their argument and result types, and a
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
// "6.0"}, as nova's client prepares it (server = the instance's host). The
// arguments are nova's keyword arguments:
//
//	build_and_run_instance  (cast) {"instance": {...}, "node": "n", "request_spec": null, "filter_properties": {}, ...}
//	terminate_instance      (cast) {"instance": {...}, "bdms": []}
//	reboot_instance         (cast) {"instance": {...}, "block_device_info": null, "reboot_type": "SOFT"|"HARD"}
//	get_console_output      (call) {"instance": {...}, "tail_length": 20 | null} -> string
//	get_diagnostics         (call) {"instance": {...}} -> diagnostics object (microversion 2.48 shape)
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
// upgrade the API is capped at what the oldest compute understands. A method
// whose version is above the cap is refused before anything is sent, with an
// error matching rpcsvc.ErrVersionCap. nova's "auto" (derive the cap from the
// services table) is not implemented: give a number.
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
// The client does not log; it returns errors that name the method and host.
// The transport (pkg/rpcsvc) logs its own retries.
//
// # Metrics
//
// None of its own: pkg/rpcsvc measures every call's round trip
// (gonova_rpc_call_duration_seconds{method}).
package rpcapi
