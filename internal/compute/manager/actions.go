package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// powerOp is one of nova's power actions as the compute runs it: the task
// state nova-api left (the only one the compute proceeds from), the driver
// call, and the vm state it ends in.
type powerOp struct {
	method string
	call   string // the driver call's metric label
	task   states.TaskState
	vm     states.VMState
	driver func(ctx context.Context, uuid string) error
	// alsoFromNone: the op may also find no task (stop of a guest that is
	// already off: nova's stop_instance expects [powering-off, None]).
	alsoFromNone func(power states.PowerState) bool
}

// powerAction runs op as nova's ComputeManager does (stop_instance,
// start_instance, pause_instance, ...), inside reverts_task_state,
// wrap_instance_event and wrap_instance_fault: the instance must still be
// in op.task; the driver acts; the instance takes the driver's power state,
// op.vm and no task, saved only while it is still in op.task (a racing
// delete wins). A driver failure clears the task (reverts_task_state),
// records the fault and is returned (logged by the RPC server; a cast is not
// redelivered). A database failure before the driver acted is retryable.
func (m *ComputeManager) powerAction(ctx context.Context, op powerOp, id string) error {
	ctx, end, err := m.work.begin(ctx, op.method, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, op.method, id)
	return m.withEvent(ctx, log, op.method, id, func() error {
		inst, err := m.store.GetInstance(ctx, id)
		if errors.Is(err, computedb.ErrNotFound) {
			return &rpcapi.InstanceNotFoundError{UUID: id}
		}
		if err != nil {
			return rpcsvc.Retryable(fmt.Errorf("%s of %s: %w", op.method, id, err))
		}
		power, perr := m.powerState(ctx, id)
		if perr != nil {
			return fmt.Errorf("%s of %s: reading the power state: %w", op.method, id, perr)
		}
		expected := []states.TaskState{op.task}
		if op.alsoFromNone != nil && op.alsoFromNone(power) {
			log.Info("Instance is already powered off in the hypervisor when stop is called.")
			expected = append(expected, states.TaskNone)
		}
		if !slices.Contains(expected, inst.TaskState) {
			// nova's UnexpectedTaskStateError: another request changed the
			// instance since nova-api set the task; this one is stale.
			log.Warn("Unexpected task state; not acting", "task_state", string(inst.TaskState), "expected", expected)
			return fmt.Errorf("%s of %s: unexpected task state: expecting %v but the instance is %q", op.method, id, expected, inst.TaskState)
		}
		start := time.Now()
		derr := op.driver(ctx, id)
		m.met.observe(op.call, start)
		wctx, cancel := writeCtx(ctx)
		defer cancel()
		if derr != nil {
			m.revertTask(wctx, id, inst.TaskState, fmt.Sprintf("%s failed: %v", op.method, derr))
			log.Error("Driver failed; task state reverted", "error", derr)
			return fmt.Errorf("%s of %s: %w", op.method, id, driverError(id, op.method, derr))
		}
		if power, perr = m.powerState(wctx, id); perr != nil {
			log.Warn("Cannot read the power state after the driver call", "error", perr)
		}
		u := computedb.InstanceUpdate{VMState: ptr(op.vm), TaskState: ptr(states.TaskNone), ExpectTaskState: ptr(inst.TaskState)}
		if perr == nil {
			u.PowerState = ptr(power)
		}
		_, err = m.store.UpdateInstance(wctx, id, u)
		switch {
		case errors.Is(err, computedb.ErrNotFound), errors.Is(err, computedb.ErrConflict):
			log.Info("Instance was deleted or changed meanwhile; leaving it as it is")
			return nil
		case err != nil:
			return fmt.Errorf("%s of %s: the driver acted but recording it failed: %w", op.method, id, err)
		}
		log.Info("Instance "+string(op.vm), "power_state", power.String())
		return nil
	})
}

// revertTask is nova's reverts_task_state and wrap_instance_fault after a
// failed operation: the task is cleared (only if it is still task) and the
// reason recorded as the instance's fault.
func (m *ComputeManager) revertTask(ctx context.Context, id string, task states.TaskState, reason string) {
	_, err := m.store.UpdateInstance(ctx, id, computedb.InstanceUpdate{TaskState: ptr(states.TaskNone), ExpectTaskState: &task,
		Fault: &computedb.Fault{Code: 500, Message: reason}})
	if err != nil && !errors.Is(err, computedb.ErrNotFound) && !errors.Is(err, computedb.ErrConflict) {
		m.log.Error("Reverting the task state failed", "instance_uuid", id, "error", err)
	}
}

// poweredOff: the states nova's stop_instance takes for "already off"
// (those of _sync_instance_power_state).
func poweredOff(p states.PowerState) bool {
	return p == states.PowerNoState || p == states.PowerShutdown || p == states.PowerCrashed
}

// StopInstance is nova's stop_instance: powering-off -> stopped, the
// driver's power state (shutdown). CleanShutdown is accepted; the driver's
// power off is always clean.
func (e *Endpoint) StopInstance(ctx context.Context, args rpcapi.StopInstanceArgs) error {
	return e.m.powerAction(ctx, powerOp{method: rpcapi.MethodStopInstance, call: callPowerOff, task: states.TaskPoweringOff,
		vm: states.VMStopped, driver: e.m.driver.PowerOff, alsoFromNone: poweredOff}, args.Instance.UUID)
}

// StartInstance is nova's start_instance: powering-on -> active.
func (e *Endpoint) StartInstance(ctx context.Context, args rpcapi.InstanceArgs) error {
	return e.m.powerAction(ctx, powerOp{method: rpcapi.MethodStartInstance, call: callPowerOn, task: states.TaskPoweringOn,
		vm: states.VMActive, driver: e.m.driver.PowerOn}, args.Instance.UUID)
}

// PauseInstance is nova's pause_instance: pausing -> paused.
func (e *Endpoint) PauseInstance(ctx context.Context, args rpcapi.InstanceArgs) error {
	return e.m.powerAction(ctx, powerOp{method: rpcapi.MethodPauseInstance, call: callPause, task: states.TaskPausing,
		vm: states.VMPaused, driver: e.m.driver.Pause}, args.Instance.UUID)
}

// UnpauseInstance is nova's unpause_instance: unpausing -> active.
func (e *Endpoint) UnpauseInstance(ctx context.Context, args rpcapi.InstanceArgs) error {
	return e.m.powerAction(ctx, powerOp{method: rpcapi.MethodUnpauseInstance, call: callUnpause, task: states.TaskUnpausing,
		vm: states.VMActive, driver: e.m.driver.Unpause}, args.Instance.UUID)
}

// SuspendInstance is nova's suspend_instance: suspending -> suspended.
func (e *Endpoint) SuspendInstance(ctx context.Context, args rpcapi.InstanceArgs) error {
	return e.m.powerAction(ctx, powerOp{method: rpcapi.MethodSuspendInstance, call: callSuspend, task: states.TaskSuspending,
		vm: states.VMSuspended, driver: e.m.driver.Suspend}, args.Instance.UUID)
}

// ResumeInstance is nova's resume_instance: resuming -> active.
func (e *Endpoint) ResumeInstance(ctx context.Context, args rpcapi.InstanceArgs) error {
	return e.m.powerAction(ctx, powerOp{method: rpcapi.MethodResumeInstance, call: callResume, task: states.TaskResuming,
		vm: states.VMActive, driver: e.m.driver.Resume}, args.Instance.UUID)
}
