package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Peers casts a resize's hops to the other compute of a resize between two
// hosts, as nova's ComputeManager does through its compute_rpcapi.
// *rpcapi.Client is one.
type Peers interface {
	ResizeInstance(ctx context.Context, host string, args rpcapi.ResizeInstanceArgs) error
	FinishResize(ctx context.Context, host string, args rpcapi.FinishResizeArgs) error
	MigrationCast(ctx context.Context, method, host string, args rpcapi.MigrationArgs) error
}

// The resize as nova's ComputeManager runs it, hop by hop: prep_resize on
// the destination checks the claim nova-api made there (making it when
// missing), resize_instance on the source powers the guest off
// (migrate_disk_and_power_off), finish_resize on the destination switches
// the instance to the new flavor and host (computedb.FinishResize) and
// brings the guest up as it was (a stopped server stays stopped): vm_state
// resized. confirm_resize on the source releases the old flavor's claim and
// removes the source's guest; revert_resize on the destination removes its
// guest and finish_revert_resize on the source puts the old flavor, host
// and claim back. When source and destination are this host, the next hop
// runs here directly (with its own event) instead of being cast.
//
// Each hop moves the task state with a compare-and-set from the one the
// previous hop left, so a duplicate or stale cast does nothing; a failure
// before finish_resize rolls the resize back (the destination's claim
// released, no task, the fault recorded: nova's InstanceFaultRollback).

// resizer is the driver as a virt.Resizer, or an error naming the driver.
func (m *ComputeManager) resizer(id string) (virt.Resizer, error) {
	r, ok := m.driver.(virt.Resizer)
	if !ok {
		return nil, &virt.ResizeError{Reason: fmt.Sprintf("the hypervisor driver of this host cannot resize instance %s", id)}
	}
	return r, nil
}

// resizeStep reads the instance and moves it from task from to task to;
// ok false (with nil error) means a stale cast: not in from any more.
func (m *ComputeManager) resizeStep(ctx context.Context, log *slog.Logger, method, id string, from, to states.TaskState) (computedb.Instance, bool, error) {
	inst, err := m.store.GetInstance(ctx, id)
	if errors.Is(err, computedb.ErrNotFound) {
		return inst, false, &rpcapi.InstanceNotFoundError{UUID: id}
	}
	if err != nil {
		return inst, false, rpcsvc.Retryable(fmt.Errorf("%s of %s: %w", method, id, err))
	}
	if inst.TaskState != from {
		log.Warn("Unexpected task state; not acting", "task_state", string(inst.TaskState), "expected", string(from))
		return inst, false, fmt.Errorf("%s of %s: unexpected task state: expecting %q but the instance is %q", method, id, from, inst.TaskState)
	}
	if from == to {
		return inst, true, nil
	}
	out, err := m.store.UpdateInstance(ctx, id, computedb.InstanceUpdate{TaskState: &to, ExpectTaskState: &from})
	switch {
	case errors.Is(err, computedb.ErrNotFound), errors.Is(err, computedb.ErrConflict):
		log.Info("Instance was deleted or changed meanwhile; leaving it as it is")
		return inst, false, nil
	case err != nil:
		return inst, false, rpcsvc.Retryable(fmt.Errorf("%s of %s: %w", method, id, err))
	}
	return out, true, nil
}

// rollbackResize undoes a resize that failed before finish_resize: the
// second claim is released, the task cleared (only while it is still task)
// and the reason recorded; vm_state stays what it was.
func (m *ComputeManager) rollbackResize(ctx context.Context, log *slog.Logger, id string, task states.TaskState, cause error) {
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	if _, _, err := m.store.ConfirmResize(wctx, id); err != nil && !errors.Is(err, computedb.ErrNotFound) {
		log.Error("Releasing the resize claim failed", "error", err)
	}
	m.revertTask(wctx, id, task, cause.Error())
	log.Error("Resize failed; rolled back", "error", cause)
}

func specOf(in computedb.Instance, f computedb.FlavorAmounts) virt.InstanceSpec {
	return virt.InstanceSpec{UUID: in.UUID, Name: instanceName(in), ImageRef: in.ImageRef,
		Flavor: virt.Flavor{Name: f.ID, VCPUs: f.VCPUs, MemoryMB: int(f.MemoryMB), RootGB: int(f.RootGB)}}
}

// PrepResize is nova's prep_resize on the destination.
func (e *Endpoint) PrepResize(ctx context.Context, args rpcapi.PrepResizeArgs) error {
	m, id := e.m, args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodPrepResize, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodPrepResize, id)
	return m.withEvent(ctx, log, rpcapi.MethodPrepResize, id, func() error {
		inst, ok, err := m.resizeStep(ctx, log, rpcapi.MethodPrepResize, id, states.TaskResizePrep, states.TaskResizePrep)
		if !ok {
			return err
		}
		nodeID, err := m.nodeRow(ctx)
		if err != nil {
			return rpcsvc.Retryable(fmt.Errorf("prep_resize of %s: this host's compute node is not recorded: %w", id, err))
		}
		f := computedb.FlavorAmounts{ID: args.Flavor.FlavorID, VCPUs: args.Flavor.VCPUs, MemoryMB: args.Flavor.MemoryMB, RootGB: args.Flavor.RootGB}
		prep := states.TaskResizePrep
		// nova's resize claim: found when nova-api made it here (claims are
		// idempotent), made otherwise.
		if _, err := m.store.ClaimResize(ctx, computedb.ResizeClaimRequest{InstanceUUID: id, NodeID: nodeID, Flavor: f, ExpectTaskState: &prep}); err != nil {
			m.rollbackResize(ctx, log, id, prep, fmt.Errorf("prep_resize of %s: %w", id, err))
			return err
		}
		mig := args.Migration
		mig.DestCompute, mig.Status = m.host, "pre-migrating"
		if mig.SourceCompute == "" {
			mig.SourceCompute, mig.SourceNode = inst.Host, inst.Node
		}
		next := rpcapi.ResizeInstanceArgs{Instance: rpcapi.InstanceFrom(inst), Migration: mig, Flavor: args.Flavor, CleanShutdown: args.CleanShutdown}
		if mig.SourceCompute == m.host {
			return e.ResizeInstance(ctx, next)
		}
		if m.peers == nil {
			err := fmt.Errorf("prep_resize of %s: this compute cannot reach the source host %s", id, mig.SourceCompute)
			m.rollbackResize(ctx, log, id, prep, err)
			return err
		}
		if err := m.peers.ResizeInstance(ctx, mig.SourceCompute, next); err != nil {
			m.rollbackResize(ctx, log, id, prep, fmt.Errorf("casting resize_instance to %s: %w", mig.SourceCompute, err))
			return err
		}
		return nil
	})
}

// ResizeInstance is nova's resize_instance on the source: resize_prep ->
// resize_migrating, the guest powered off, -> resize_migrated, then
// finish_resize on the destination.
func (e *Endpoint) ResizeInstance(ctx context.Context, args rpcapi.ResizeInstanceArgs) error {
	m, id := e.m, args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodResizeInstance, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodResizeInstance, id)
	return m.withEvent(ctx, log, rpcapi.MethodResizeInstance, id, func() error {
		if _, ok, err := m.resizeStep(ctx, log, rpcapi.MethodResizeInstance, id, states.TaskResizePrep, states.TaskResizeMigrating); !ok {
			return err
		}
		r, err := m.resizer(id)
		if err == nil {
			f := args.Flavor
			err = r.MigrateDiskAndPowerOff(ctx, id, virt.Flavor{Name: f.FlavorID, VCPUs: f.VCPUs, MemoryMB: int(f.MemoryMB), RootGB: int(f.RootGB)})
		}
		if err != nil {
			m.rollbackResize(ctx, log, id, states.TaskResizeMigrating, err)
			return fmt.Errorf("resize_instance of %s: %w", id, err)
		}
		u := computedb.InstanceUpdate{TaskState: ptr(states.TaskResizeMigrated), ExpectTaskState: ptr(states.TaskResizeMigrating)}
		if p, perr := m.powerState(ctx, id); perr == nil {
			u.PowerState = &p
		}
		inst, err := m.store.UpdateInstance(ctx, id, u)
		if err != nil {
			log.Info("Instance was deleted or changed meanwhile; leaving it as it is", "error", err)
			return nil
		}
		mig := args.Migration
		mig.Status = "post-migrating"
		next := rpcapi.FinishResizeArgs{Instance: rpcapi.InstanceFrom(inst), Migration: mig}
		if mig.DestCompute == m.host || mig.DestCompute == "" {
			return e.FinishResize(ctx, next)
		}
		if m.peers == nil {
			err := fmt.Errorf("resize_instance of %s: this compute cannot reach the destination host %s", id, mig.DestCompute)
			m.rollbackResize(ctx, log, id, states.TaskResizeMigrated, err)
			return err
		}
		if err := m.peers.FinishResize(ctx, mig.DestCompute, next); err != nil {
			m.rollbackResize(ctx, log, id, states.TaskResizeMigrated, fmt.Errorf("casting finish_resize to %s: %w", mig.DestCompute, err))
			return err
		}
		return nil
	})
}

// FinishResize is nova's finish_resize on the destination: resize_migrated
// -> resize_finish, the new flavor and host switched in the database, the
// guest brought up with it (powered on unless the server was stopped), and
// vm_state resized with no task.
func (e *Endpoint) FinishResize(ctx context.Context, args rpcapi.FinishResizeArgs) error {
	m, id := e.m, args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodFinishResize, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodFinishResize, id)
	return m.withEvent(ctx, log, rpcapi.MethodFinishResize, id, func() error {
		inst, ok, err := m.resizeStep(ctx, log, rpcapi.MethodFinishResize, id, states.TaskResizeMigrated, states.TaskResizeFinish)
		if !ok {
			return err
		}
		powerOn := inst.VMState != states.VMStopped
		fin, err := m.store.FinishResize(ctx, id)
		if err != nil {
			m.rollbackResize(ctx, log, id, states.TaskResizeFinish, fmt.Errorf("finish_resize of %s: %w", id, err))
			return err
		}
		r, err := m.resizer(id)
		if err == nil {
			err = r.FinishMigration(ctx, specOf(fin, computedb.FlavorAmounts{ID: fin.FlavorID, VCPUs: fin.VCPUs, MemoryMB: fin.MemoryMB, RootGB: fin.RootGB}), powerOn)
		}
		wctx, cancel := writeCtx(ctx)
		defer cancel()
		if err != nil {
			// nova's finish_resize failure: the instance is in ERROR on the
			// destination, both claims held until it is deleted or reverted.
			_, _ = m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone),
				ExpectTaskState: ptr(states.TaskResizeFinish), Fault: &computedb.Fault{Code: 500, Message: err.Error()}})
			log.Error("Finishing the resize failed; instance set to ERROR", "error", err)
			return fmt.Errorf("finish_resize of %s: %w", id, err)
		}
		u := computedb.InstanceUpdate{VMState: ptr(states.VMResized), TaskState: ptr(states.TaskNone), ExpectTaskState: ptr(states.TaskResizeFinish)}
		if p, perr := m.powerState(wctx, id); perr == nil {
			u.PowerState = &p
		}
		if _, err := m.store.UpdateInstance(wctx, id, u); err != nil {
			log.Info("Instance was deleted or changed meanwhile; leaving it as it is", "error", err)
			return nil
		}
		log.Info("Instance resized; waiting for confirm or revert", "flavor", fin.FlavorID, "host", fin.Host)
		return nil
	})
}

// ConfirmResize is nova's confirm_resize on the source: the old flavor's
// claim released (exactly once, whoever else confirms), the source's guest
// removed when the resize moved it, and vm_state back to active (stopped
// for a guest that is off), no task.
func (e *Endpoint) ConfirmResize(ctx context.Context, args rpcapi.MigrationArgs) error {
	m, id := e.m, args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodConfirmResize, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodConfirmResize, id)
	// A server deleted while VERIFY_RESIZE (nova's
	// _confirm_resize_on_deleting): the deletion releases the claims; the
	// source only removes the guest it kept. The destination's terminate
	// marks the row vm_state deleted with no task before it deletes it, so
	// a row in that state is being deleted too.
	if cur, err := m.store.GetInstance(ctx, id); (errors.Is(err, computedb.ErrNotFound) || cur.TaskState == states.TaskDeleting || cur.VMState == states.VMDeleted) &&
		args.Migration.DestCompute != m.host && args.Migration.DestCompute != "" {
		log.Info("Removing the guest a resize left on this source host; its server is deleted")
		return m.driver.Destroy(ctx, id)
	}
	return m.withEvent(ctx, log, rpcapi.MethodConfirmResize, id, func() error {
		inst, ok, err := m.resizeStep(ctx, log, rpcapi.MethodConfirmResize, id, states.TaskResizeConfirming, states.TaskResizeConfirming)
		if !ok {
			return err
		}
		confirmed, released, err := m.store.ConfirmResize(ctx, id)
		if err != nil {
			return rpcsvc.Retryable(fmt.Errorf("confirm_resize of %s: %w", id, err))
		}
		if !released {
			log.Info("The resize was confirmed or reverted already")
			return nil
		}
		if inst.Host != m.host {
			if err := m.driver.Destroy(ctx, id); err != nil {
				log.Warn("Removing the source's guest failed", "error", err)
			}
		}
		return m.endResize(ctx, log, id, confirmed, states.TaskResizeConfirming)
	})
}

// endResize clears task (compare-and-set) and sets vm_state from the
// guest's power: active when running, stopped otherwise. The power is this
// host's driver's when the guest is here, else the one the instance's host
// recorded (nova's confirm on the source reads instance.power_state).
func (m *ComputeManager) endResize(ctx context.Context, log *slog.Logger, id string, inst computedb.Instance, task states.TaskState) error {
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	p := inst.PowerState
	if inst.Host == m.host {
		if got, err := m.powerState(wctx, id); err == nil {
			p = got
		}
	}
	vm := states.VMActive
	if p != states.PowerRunning {
		vm = states.VMStopped
	}
	_, err := m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{VMState: &vm, TaskState: ptr(states.TaskNone), PowerState: &p, ExpectTaskState: &task})
	if err != nil {
		log.Info("Instance was deleted or changed meanwhile; leaving it as it is", "error", err)
		return nil
	}
	log.Info("Resize ended", "vm_state", string(vm), "flavor", inst.FlavorID, "host", inst.Host)
	return nil
}

// RevertResize is nova's revert_resize on the destination: its guest is
// removed when the resize moved it, then finish_revert_resize on the source.
func (e *Endpoint) RevertResize(ctx context.Context, args rpcapi.MigrationArgs) error {
	m, id := e.m, args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodRevertResize, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodRevertResize, id)
	return m.withEvent(ctx, log, rpcapi.MethodRevertResize, id, func() error {
		if _, ok, err := m.resizeStep(ctx, log, rpcapi.MethodRevertResize, id, states.TaskResizeReverting, states.TaskResizeReverting); !ok {
			return err
		}
		mig := args.Migration
		if mig.SourceCompute != m.host && mig.SourceCompute != "" {
			if err := m.driver.Destroy(ctx, id); err != nil {
				return fmt.Errorf("revert_resize of %s: removing the destination's guest: %w", id, err)
			}
			if m.peers == nil {
				return fmt.Errorf("revert_resize of %s: this compute cannot reach the source host %s", id, mig.SourceCompute)
			}
			return m.peers.MigrationCast(ctx, rpcapi.MethodFinishRevertResize, mig.SourceCompute, args)
		}
		return e.FinishRevertResize(ctx, args)
	})
}

// FinishRevertResize is nova's finish_revert_resize on the source: the old
// flavor, host and claim back (the new one released, exactly once), the
// guest given its old flavor and powered as it was, vm_state active or
// stopped.
func (e *Endpoint) FinishRevertResize(ctx context.Context, args rpcapi.MigrationArgs) error {
	m, id := e.m, args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodFinishRevertResize, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodFinishRevertResize, id)
	return m.withEvent(ctx, log, rpcapi.MethodFinishRevertResize, id, func() error {
		inst, ok, err := m.resizeStep(ctx, log, rpcapi.MethodFinishRevertResize, id, states.TaskResizeReverting, states.TaskResizeReverting)
		if !ok {
			return err
		}
		powerOn := inst.PowerState == states.PowerRunning
		back, reverted, err := m.store.RevertResize(ctx, id)
		if err != nil {
			return fmt.Errorf("finish_revert_resize of %s: %w", id, err)
		}
		if !reverted {
			log.Info("The resize was confirmed or reverted already")
			return nil
		}
		r, err := m.resizer(id)
		if err == nil {
			err = r.FinishRevertMigration(ctx, specOf(back, computedb.FlavorAmounts{ID: back.FlavorID, VCPUs: back.VCPUs, MemoryMB: back.MemoryMB, RootGB: back.RootGB}), powerOn)
		}
		if err != nil {
			wctx, cancel := writeCtx(ctx)
			defer cancel()
			_, _ = m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone),
				ExpectTaskState: ptr(states.TaskResizeReverting), Fault: &computedb.Fault{Code: 500, Message: err.Error()}})
			return fmt.Errorf("finish_revert_resize of %s: %w", id, err)
		}
		return m.endResize(ctx, log, id, back, states.TaskResizeReverting)
	})
}
