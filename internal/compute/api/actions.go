package computeapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Instance action names: nova's instance_actions, recorded for every
// server action (os-instance-actions), and the names check_instance_state
// reports ("Cannot 'stop' instance ...").
const (
	ActionCreate  = "create"
	ActionDelete  = "delete"
	ActionReboot  = "reboot"
	ActionStop    = "stop"
	ActionStart   = "start"
	ActionPause   = "pause"
	ActionUnpause = "unpause"
	ActionSuspend = "suspend"
	ActionResume  = "resume"
	ActionRebuild = "rebuild"
	ActionLock    = "lock"
	ActionUnlock  = "unlock"
)

// powerAction is one of nova's compute.API power actions: the decorators
// nova puts on it (check_instance_lock, check_instance_host,
// check_instance_state), the task state it sets (from none) and the RPC
// method it casts.
type powerAction struct {
	name      string
	check     stateCheck
	needsHost bool // check_instance_host
	task      states.TaskState
	method    string
}

var (
	stopAction = powerAction{name: ActionStop, needsHost: true, task: states.TaskPoweringOff, method: rpcapi.MethodStopInstance,
		check: stateCheck{vm: []states.VMState{states.VMActive, states.VMError}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}}
	startAction = powerAction{name: ActionStart, needsHost: true, task: states.TaskPoweringOn, method: rpcapi.MethodStartInstance,
		check: stateCheck{vm: []states.VMState{states.VMStopped}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}}
	pauseAction = powerAction{name: ActionPause, task: states.TaskPausing, method: rpcapi.MethodPauseInstance,
		check: stateCheck{vm: []states.VMState{states.VMActive}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}}
	unpauseAction = powerAction{name: ActionUnpause, task: states.TaskUnpausing, method: rpcapi.MethodUnpauseInstance,
		check: stateCheck{vm: []states.VMState{states.VMPaused}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}}
	suspendAction = powerAction{name: ActionSuspend, task: states.TaskSuspending, method: rpcapi.MethodSuspendInstance,
		check: stateCheck{vm: []states.VMState{states.VMActive}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}}
	resumeAction = powerAction{name: ActionResume, task: states.TaskResuming, method: rpcapi.MethodResumeInstance,
		check: stateCheck{vm: []states.VMState{states.VMSuspended}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}}
)

// Stop is nova's stop: an unlocked (or admin's) instance with a host, in
// vm_state active or error, with no task, launched; task powering-off
// (compare-and-set from none), the stop action recorded, stop_instance cast.
func (a *API) Stop(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.power(ctx, c, in, stopAction)
}

// Start is nova's start: from vm_state stopped; task powering-on;
// start_instance.
func (a *API) Start(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.power(ctx, c, in, startAction)
}

// Pause is nova's pause: from active; task pausing; pause_instance.
func (a *API) Pause(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.power(ctx, c, in, pauseAction)
}

// Unpause is nova's unpause: from paused; task unpausing; unpause_instance.
func (a *API) Unpause(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.power(ctx, c, in, unpauseAction)
}

// Suspend is nova's suspend: from active; task suspending; suspend_instance.
func (a *API) Suspend(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.power(ctx, c, in, suspendAction)
}

// Resume is nova's resume: from suspended; task resuming; resume_instance.
func (a *API) Resume(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.power(ctx, c, in, resumeAction)
}

// power runs pa on in as nova's compute.API does: the lock, the host, the
// state; then the task state (saved only if no one changed it since the
// instance was read), the action recorded with the request id, and the
// cast. A cast that fails puts the task state back.
func (a *API) power(ctx context.Context, c Caller, in computedb.Instance, pa powerAction) error {
	if err := checkLock(c, in); err != nil {
		return err
	}
	if pa.needsHost && in.Host == "" {
		return &InstanceNotReadyError{UUID: in.UUID}
	}
	if err := pa.check.check(pa.name, in); err != nil {
		return err
	}
	if err := a.checkComputeServes(ctx, in, pa.name); err != nil {
		return err
	}
	out, err := a.startTask(ctx, pa.name, in, pa.task)
	if err != nil {
		return err
	}
	if err := a.recordAction(ctx, c, out, pa.name); err != nil {
		a.undoTask(ctx, out, pa.task, in.TaskState)
		return err
	}
	cctx, cancel := a.detached(ctx)
	defer cancel()
	if err := a.rpc.InstanceAction(rpcContext(cctx, c), pa.method, out); err != nil {
		a.undoTask(cctx, out, pa.task, in.TaskState)
		return fmt.Errorf("casting %s to %s: %w", pa.method, out.Host, err)
	}
	a.logger(c).InfoContext(ctx, "server "+pa.name+" cast to its compute", "instance_uuid", out.UUID, "host", out.Host)
	return nil
}

// CheckLock is nova's check_instance_lock, for the API's own edits of an
// instance (server metadata): a locked instance refuses a caller that is
// not an admin.
func CheckLock(c Caller, in computedb.Instance) error { return checkLock(c, in) }

// checkLock is nova's check_instance_lock: a locked instance refuses a
// caller that is not an admin.
func checkLock(c Caller, in computedb.Instance) error {
	if in.Locked && !c.Admin {
		return &InstanceLockedError{UUID: in.UUID}
	}
	return nil
}

// checkComputeServes refuses an action whose RPC method the instance's
// compute does not serve: a gonova nova-compute below service version
// versions.ServerActions (a rolling upgrade's old compute), as nova refuses
// a feature its computes are too old for. A compute that records no
// version (0) or has no row is not judged here.
func (a *API) checkComputeServes(ctx context.Context, in computedb.Instance, action string) error {
	if in.Host == "" {
		return nil
	}
	svc, err := a.services.GetByHostBinary(ctx, in.Host, registry.BinaryCompute)
	if errors.Is(err, registry.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Version > 0 && svc.Version < versions.ServerActions {
		return &ComputeTooOldError{Action: action, Host: in.Host, Version: svc.Version, Needed: versions.ServerActions}
	}
	return nil
}

// recordAction is nova's _record_action_start: the action, with the
// caller's request id, user and project.
func (a *API) recordAction(ctx context.Context, c Caller, in computedb.Instance, action string) error {
	if c.RequestID == "" {
		return nil // nothing to find it by (nova always has a request id)
	}
	_, err := a.compute.StartAction(ctx, computedb.Action{InstanceUUID: in.UUID, Action: action, RequestID: c.RequestID,
		UserID: c.UserID, ProjectID: c.ProjectID})
	if err != nil {
		return fmt.Errorf("recording the %s action: %w", action, err)
	}
	return nil
}

// rpcContext is ctx carrying the caller as the RPC request context, so the
// compute records its events on the caller's action.
func rpcContext(ctx context.Context, c Caller) context.Context {
	rc := rpcsvc.Context{RequestID: c.RequestID, UserID: c.UserID, ProjectID: c.ProjectID, IsAdmin: c.Admin}
	if c.Admin {
		rc.Roles = []string{"admin"}
	}
	return rpcsvc.NewContext(ctx, rc)
}

// GetWithDeleted is Get reading deleted rows too (nova's
// read_deleted='yes'): os-instance-actions from 2.21 shows a deleted
// server's actions.
func (a *API) GetWithDeleted(ctx context.Context, c Caller, id string) (computedb.Instance, error) {
	list, err := a.compute.ListInstances(ctx, computedb.InstanceFilter{Deleted: computedb.LiveAndDeleted, Limit: 1,
		Exact: map[computedb.Column][]string{computedb.ColUUID: {id}}})
	if err != nil {
		return computedb.Instance{}, err
	}
	if len(list) == 0 || (!c.Admin && list[0].ProjectID != c.ProjectID) {
		return computedb.Instance{}, &InstanceNotFoundError{UUID: id}
	}
	return list[0], nil
}
