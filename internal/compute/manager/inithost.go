package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// initInstances is nova's init_host loop over _init_instance, simplified:
// each instance the database puts on this host is brought out of the state
// the last stop left it in. An instance that cannot be fixed is logged and the
// loop goes on, as in nova; only a database listing error or ctx ends it.
//
//   - task deleting (or vm_state deleted): the delete is finished — the guest
//     destroyed, the row marked deleted and soft-deleted;
//   - vm_state building, or a build task (scheduling ... spawning): the build
//     died with the process; the instance goes to vm_state error, no task,
//     and its resource claim is released (nova does the same; a user
//     deletes it);
//   - any other task (an interrupted reboot): the task is cleared and the
//     power state taken from the driver (nova retries some of these; gonova
//     leaves the retry to the user);
//   - otherwise the power state is refreshed from the driver.
//
// Guests on the hypervisor that no row of this host accounts for are logged;
// nova's _destroy_evacuated_instances and running_deleted_instance_action are
// not implemented, so nothing is destroyed on that ground.
func (m *ComputeManager) initInstances(ctx context.Context) error {
	insts, err := m.store.ListInstances(ctx, computedb.InstanceFilter{Host: m.host})
	if err != nil {
		return fmt.Errorf("compute manager: listing the instances of host %s: %w", m.host, err)
	}
	start := time.Now()
	onHV, err := m.driver.ListInstanceUUIDs(ctx)
	m.met.observe(callListInstanceUUIDs, start)
	if err != nil {
		return fmt.Errorf("compute manager: listing the hypervisor's instances: %w", err)
	}
	for _, in := range insts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.initInstance(ctx, in); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.log.Error("Failed to initialise instance at start-up; going on with the others",
				"instance_uuid", in.UUID, "vm_state", in.VMState, "task_state", in.TaskState, "error", err)
		}
		onHV = slices.DeleteFunc(onHV, func(u string) bool { return u == in.UUID })
	}
	for _, u := range onHV {
		m.log.Warn("The hypervisor has a guest that no instance of this host accounts for; leaving it", "instance_uuid", u)
	}
	m.log.Info("Instances initialised", "count", len(insts))
	return nil
}

func (m *ComputeManager) initInstance(ctx context.Context, in computedb.Instance) error {
	log := m.log.With("instance_uuid", in.UUID, "vm_state", in.VMState, "task_state", in.TaskState)
	switch {
	case in.TaskState == states.TaskDeleting || in.VMState == states.VMDeleted:
		log.Info("Instance was being deleted when the service stopped; finishing the delete")
		if err := m.destroy(ctx, log, in.UUID); err != nil {
			return err
		}
		now := m.clock.Now().UTC()
		if _, err := m.store.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{
			VMState: ptr(states.VMDeleted), TaskState: ptr(states.TaskNone), PowerState: ptr(states.PowerNoState), TerminatedAt: &now,
		}); err != nil && !errors.Is(err, computedb.ErrNotFound) {
			return err
		}
		if err := m.store.DeleteInstance(ctx, in.UUID); err != nil && !errors.Is(err, computedb.ErrNotFound) {
			return err
		}
		return nil

	case in.VMState == states.VMBuilding || in.TaskState == states.TaskSpawning || slices.Contains(buildTasks[1:], in.TaskState):
		log.Warn("Instance was being built when the service stopped; set to ERROR")
		power, err := m.powerState(ctx, in.UUID)
		if err != nil {
			return err
		}
		if err := m.casUpdate(ctx, in, computedb.InstanceUpdate{
			VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone), PowerState: ptr(power),
			Fault: &computedb.Fault{Code: 500, Message: "The compute service restarted while the instance was being built"},
		}); err != nil {
			return err
		}
		m.release(ctx, log, in.UUID) // an instance in ERROR holds no resources
		return nil

	case in.TaskState != states.TaskNone:
		log.Info("Clearing the task state of an operation the stop interrupted")
		power, err := m.powerState(ctx, in.UUID)
		if err != nil {
			return err
		}
		return m.casUpdate(ctx, in, computedb.InstanceUpdate{TaskState: ptr(states.TaskNone), PowerState: ptr(power)})
	}

	power, err := m.powerState(ctx, in.UUID)
	if err != nil {
		return err
	}
	if power == in.PowerState {
		return nil
	}
	log.Info("Power state changed while the service was stopped", "db_power_state", in.PowerState.String(),
		"power_state", power.String())
	return m.casUpdate(ctx, in, computedb.InstanceUpdate{PowerState: ptr(power)})
}

// casUpdate applies u only while the row's task state is still in.TaskState;
// losing that race (or the row) is not an error: the other writer wins.
func (m *ComputeManager) casUpdate(ctx context.Context, in computedb.Instance, u computedb.InstanceUpdate) error {
	u.ExpectTaskState = ptr(in.TaskState)
	_, err := m.store.UpdateInstance(ctx, in.UUID, u)
	if errors.Is(err, computedb.ErrConflict) || errors.Is(err, computedb.ErrNotFound) {
		m.log.Debug("Instance changed meanwhile; leaving it to the other writer", "instance_uuid", in.UUID, "error", err)
		return nil
	}
	return err
}
