package manager

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// withEvent is nova's wrap_instance_event(prefix='compute'): the event
// "compute_<method>" of the action the request started (found by the
// request id the RPC context carries) is started on this host before fn and
// finished after it, Success or Error with the error as traceback and
// details. A request without an action (a cast without a request id, or
// from a caller that recorded none) runs fn without events; a failure to
// record is logged, never fails the operation.
func (m *ComputeManager) withEvent(ctx context.Context, log *slog.Logger, method, uuid string, fn func() error) error {
	rc, _ := rpcsvc.ContextFrom(ctx)
	name := "compute_" + method
	recorded := false
	if rc.RequestID != "" {
		_, err := m.store.StartEvent(ctx, computedb.EventRecord{InstanceUUID: uuid, RequestID: rc.RequestID, Event: name,
			Host: m.host, Time: m.clock.Now().UTC()})
		switch {
		case err == nil:
			recorded = true
		case errors.Is(err, computedb.ErrNotFound):
			log.Debug("No instance action for the request; its event is not recorded", "event", name)
		default:
			log.Warn("Recording the start of the instance action event failed", "event", name, "error", err)
		}
	}
	ferr := fn()
	if !recorded {
		return ferr
	}
	r := computedb.EventRecord{InstanceUUID: uuid, RequestID: rc.RequestID, Event: name, Time: m.clock.Now().UTC(), Result: computedb.EventSuccess}
	if ferr != nil {
		r.Result, r.Traceback, r.Details = computedb.EventError, ferr.Error(), ferr.Error()
	}
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	if _, err := m.store.FinishEvent(wctx, r); err != nil {
		log.Warn("Recording the end of the instance action event failed", "event", name, "error", err)
	}
	return ferr
}

// BuildAndRunInstance serves build_and_run_instance (buildAndRunInstance)
// inside its event, nova's compute__do_build_and_run_instance.
func (e *Endpoint) BuildAndRunInstance(ctx context.Context, args rpcapi.BuildAndRunInstanceArgs) error {
	log := e.m.opLog(ctx, rpcapi.MethodBuildAndRunInstance, args.Instance.UUID)
	return e.m.withEvent(ctx, log, "_do_build_and_run_instance", args.Instance.UUID, func() error { return e.buildAndRunInstance(ctx, args) })
}

// TerminateInstance serves terminate_instance (terminateInstance) inside
// its event, compute_terminate_instance.
func (e *Endpoint) TerminateInstance(ctx context.Context, args rpcapi.TerminateInstanceArgs) error {
	log := e.m.opLog(ctx, rpcapi.MethodTerminateInstance, args.Instance.UUID)
	return e.m.withEvent(ctx, log, rpcapi.MethodTerminateInstance, args.Instance.UUID, func() error { return e.terminateInstance(ctx, args) })
}

// RebootInstance serves reboot_instance (rebootInstance) inside its event,
// compute_reboot_instance.
func (e *Endpoint) RebootInstance(ctx context.Context, args rpcapi.RebootInstanceArgs) error {
	log := e.m.opLog(ctx, rpcapi.MethodRebootInstance, args.Instance.UUID)
	return e.m.withEvent(ctx, log, rpcapi.MethodRebootInstance, args.Instance.UUID, func() error { return e.rebootInstance(ctx, args) })
}
