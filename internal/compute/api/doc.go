// Package computeapi is nova's compute.API (nova/compute/api.py): what
// nova-api does to instances once a request has been parsed and authorised.
// It creates an instance (store the row, place it with the scheduler, cast
// build_and_run_instance), deletes one (locally when its compute is down or
// gone, otherwise by casting terminate_instance), reboots one (nova's
// check_instance_state, then a compare-and-set of the task state, then the
// cast), fetches its console output, and answers the instance queries the
// servers API needs (get, list, host status).
//
// # Why
//
// The HTTP handlers (internal/api) should only parse a request, call this
// package and render its answer; nova's decisions about instances (which
// states allow an action, when a delete is local, what a failed boot leaves
// behind) live here once, next to the calls into the scheduler
// (internal/scheduler), the compute store (internal/computedb) and the
// compute RPC client (internal/compute/rpcapi). Actions that later issues add
// (stop, start, pause, resize, quotas, claims) join the same type, each in
// the shape of Reboot: a stateCheck (nova's check_instance_state), the task
// state recorded with startTask (a compare-and-set, so racing requests lose
// cleanly), then the cast.
//
//	capi, err := computeapi.New(computeapi.Options{Services: reg, Compute: cdb,
//		RPC: computeapi.NewComputeRPC(client)})
//	inst, err := capi.Create(ctx, caller, computeapi.CreateRequest{Name: "web-1",
//		Flavor: computeapi.Flavor{ID: "1", Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1},
//		ImageRef: image})
//	err = capi.Reboot(ctx, caller, computeapi.RebootRequest{Instance: inst, Type: virt.RebootHard})
//	var invalid *computeapi.InstanceInvalidStateError
//	if errors.As(err, &invalid) { /* 409 with invalid.Error() */ }
//
// # Errors
//
// Refusals are typed, each with nova's message as its Error(), for the HTTP
// layer to map to a status: *InstanceNotFoundError (404),
// *InstanceInvalidStateError and *InstanceNotReadyError (409),
// *ConsoleNotAvailableError (404), *NotSupportedError (501),
// *MarkerNotFoundError (400), *NoValidHostError (400 where nova's API
// raises it synchronously; a boot records it as the instance's fault
// instead). Each matches its Err* sentinel with errors.Is. A cast or call
// the broker could not take (pkg/rpcsvc's *UnavailableError: no broker
// within rpc_unavailable_timeout; *UnroutableError: no queue for the host
// within rpc_unroutable_timeout) is wrapped as it is and answered 503 by
// pkg/wsgi/fault; a boot records it as the instance's fault, in words. Any
// other error is unexpected (a store or transport failure: nova's 500).
//
// # Lost builds
//
// FailUnclaimedBuilds fails instances still in task_state scheduling a
// timeout after creation: their build request was lost (queued in a
// non-durable queue when the broker restarted) or their compute is down.
// nova-api runs it as a periodic task (internal/nova, [gonova]
// build_request_timeout); it is a compare-and-set on the task state the
// compute's build claims, so it is safe in every API worker at once.
//
// # Notifications
//
// A local delete (no host, or its compute down) sends instance.delete.start
// and .end itself, published as nova-api:<host>, as nova's _local_delete
// does (Options.Notifier); everything else is announced by the compute
// manager or the services store (internal/notifications).
//
// # Logging
//
// Info for what changes an instance (created, delete cast or done locally,
// reboot cast), Warn for a boot that found no host, Error for a cast or a
// store write that failed and left the instance in ERROR. Lines carry
// instance_uuid, and request_id when the caller has one.
//
// # Metrics
//
// None of its own: nova-api's request metrics (pkg/wsgi/middleware) count
// the requests and their outcomes, pkg/rpcsvc the casts and calls.
package computeapi
