package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// RebuildInstance is nova's rebuild_instance on the instance's own host
// (_rebuild_default_impl): from task rebuilding, the driver destroys the
// guest; task rebuild_block_device_mapping, then rebuild_spawning; the
// driver spawns it again from the image nova-api recorded (image_ref); the
// instance becomes active, running, with no task and a new launched_at. An
// instance that was stopped is powered off again (task powering-off, then
// stopped), as nova. A failure puts the instance in vm_state error with the
// reason as its fault (nova's _error_out_instance_on_exception).
func (e *Endpoint) RebuildInstance(ctx context.Context, args rpcapi.RebuildInstanceArgs) error {
	m := e.m
	id := args.Instance.UUID
	if args.Recreate {
		return fmt.Errorf("rebuild of %s: evacuation (recreate) is not supported", id)
	}
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodRebuildInstance, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodRebuildInstance, id)
	return m.withEvent(ctx, log, rpcapi.MethodRebuildInstance, id, func() error {
		inst, err := m.store.GetInstance(ctx, id)
		if errors.Is(err, computedb.ErrNotFound) {
			return &rpcapi.InstanceNotFoundError{UUID: id}
		}
		if err != nil {
			return rpcsvc.Retryable(fmt.Errorf("rebuild of %s: %w", id, err))
		}
		if inst.TaskState != states.TaskRebuilding {
			log.Warn("Unexpected task state; not rebuilding", "task_state", string(inst.TaskState))
			return fmt.Errorf("rebuild of %s: unexpected task state: expecting [rebuilding] but the instance is %q", id, inst.TaskState)
		}
		origVM := inst.VMState
		fail := func(cause error) error {
			wctx, cancel := writeCtx(ctx)
			defer cancel()
			if _, uerr := m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone),
				Fault: &computedb.Fault{Code: 500, Message: "Rebuild of instance " + id + " failed: " + cause.Error()}}); uerr != nil && !errors.Is(uerr, computedb.ErrNotFound) {
				log.Error("Setting the instance to ERROR after a failed rebuild failed", "error", uerr)
			}
			log.Error("Rebuild failed; instance set to ERROR", "error", cause)
			return fmt.Errorf("rebuild of %s: %w", id, cause)
		}
		if err := m.destroy(ctx, log, id); err != nil {
			return fail(err)
		}
		step := func(from, to states.TaskState) (bool, error) {
			_, err := m.store.UpdateInstance(ctx, id, computedb.InstanceUpdate{TaskState: &to, ExpectTaskState: &from})
			if errors.Is(err, computedb.ErrNotFound) || errors.Is(err, computedb.ErrConflict) {
				log.Info("Instance was deleted or changed during the rebuild; stopping it here", "task_state", string(to))
				return false, nil
			}
			return err == nil, err
		}
		if ok, err := step(states.TaskRebuilding, states.TaskRebuildBlockDeviceMapping); !ok {
			return err
		}
		if ok, err := step(states.TaskRebuildBlockDeviceMapping, states.TaskRebuildSpawning); !ok {
			return err
		}
		spec := virt.InstanceSpec{UUID: id, Name: instanceName(inst), ImageRef: inst.ImageRef,
			Flavor: virt.Flavor{Name: inst.FlavorID, VCPUs: inst.VCPUs, MemoryMB: int(inst.MemoryMB), RootGB: int(inst.RootGB)}}
		log.Info("Rebuilding instance", "image_ref", inst.ImageRef)
		start := time.Now()
		err = m.driver.Spawn(ctx, spec)
		m.met.observe(callSpawn, start)
		if err != nil {
			return fail(err)
		}
		wctx, cancel := writeCtx(ctx)
		defer cancel()
		power, perr := m.powerState(wctx, id)
		if perr != nil {
			power = states.PowerRunning
		}
		now := m.clock.Now().UTC()
		next := states.TaskNone
		if origVM == states.VMStopped {
			next = states.TaskPoweringOff
		}
		_, err = m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{VMState: ptr(states.VMActive), PowerState: &power,
			TaskState: &next, LaunchedAt: &now, ExpectTaskState: ptr(states.TaskRebuildSpawning)})
		switch {
		case errors.Is(err, computedb.ErrNotFound), errors.Is(err, computedb.ErrConflict):
			log.Info("Instance was deleted while it was rebuilt; destroying it on the hypervisor")
			_ = m.destroy(wctx, log, id)
			return nil
		case err != nil:
			return fmt.Errorf("rebuild of %s: the guest runs but recording it failed: %w", id, err)
		}
		log.Info("Instance rebuilt")
		if origVM != states.VMStopped {
			return nil
		}
		// nova: a stopped instance is stopped again once rebuilt.
		pstart := time.Now()
		perr = m.driver.PowerOff(wctx, id)
		m.met.observe(callPowerOff, pstart)
		if perr != nil {
			m.revertTask(wctx, id, states.TaskPoweringOff, "stop_instance failed: "+perr.Error())
			return fmt.Errorf("rebuild of %s: powering the stopped instance off again: %w", id, perr)
		}
		power, _ = m.powerState(wctx, id)
		if _, err := m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{VMState: ptr(states.VMStopped), PowerState: &power,
			TaskState: ptr(states.TaskNone), ExpectTaskState: ptr(states.TaskPoweringOff)}); err != nil &&
			!errors.Is(err, computedb.ErrNotFound) && !errors.Is(err, computedb.ErrConflict) {
			return fmt.Errorf("rebuild of %s: recording the stop: %w", id, err)
		}
		return nil
	})
}
