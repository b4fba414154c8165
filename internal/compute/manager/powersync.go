package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
)

// SyncPowerStates is nova's _sync_power_states periodic task: it reconciles
// what the database says about this host's instances with what the
// hypervisor reports, so a guest that shut down, crashed or vanished behind
// nova's back is not shown as running for ever.
//
// Instances with a task in progress are skipped (that task will set their
// state), as in nova. For the others (nova's _sync_instance_power_state,
// simplified):
//
//   - power_state is always set to the driver's (NOSTATE when the hypervisor
//     does not have the guest);
//   - active, and the guest is shutdown or crashed: vm_state stopped (nova
//     calls its stop API, which ends the same way);
//   - active, and the hypervisor has no such guest: vm_state error (nova
//     logs and ignores this; gonova makes it visible, since the instance
//     cannot come back by itself);
//   - stopped, and the guest runs (started behind nova's back): the guest is
//     powered off again (nova's force stop);
//   - paused or suspended in the database, and the guest is shutdown or
//     crashed: vm_state stopped;
//   - building, error and other states: only power_state changes.
//
// Each update is a compare-and-set on "no task", so an operation that starts
// meanwhile wins. Errors of single instances are joined and returned after
// the others were synced.
func (m *ComputeManager) SyncPowerStates(ctx context.Context) error {
	insts, err := m.store.ListInstances(ctx, computedb.InstanceFilter{Host: m.host})
	if err != nil {
		return fmt.Errorf("_sync_power_states: listing the instances of host %s: %w", m.host, err)
	}
	start := time.Now()
	onHV, err := m.driver.ListInstanceUUIDs(ctx)
	m.met.observe(callListInstanceUUIDs, start)
	if err != nil {
		return fmt.Errorf("_sync_power_states: listing the hypervisor's instances: %w", err)
	}
	if len(onHV) != len(insts) {
		m.log.Warn("While synchronizing instance power states, found a different number of instances in the database and on the hypervisor",
			"db_instances", len(insts), "hypervisor_instances", len(onHV))
	}
	var errs []error
	for _, in := range insts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if in.TaskState != states.TaskNone {
			m.log.Debug("During sync_power_state the instance has a pending task; skipped",
				"instance_uuid", in.UUID, "task_state", in.TaskState)
			continue
		}
		if err := m.syncInstance(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", in.UUID, err))
		}
	}
	return errors.Join(errs...)
}

func (m *ComputeManager) syncInstance(ctx context.Context, in computedb.Instance) error {
	log := m.log.With("instance_uuid", in.UUID, "vm_state", in.VMState)
	start := time.Now()
	info, err := m.driver.GetInfo(ctx, in.UUID)
	m.met.observe(callGetInfo, start)
	missing := errors.Is(err, virt.ErrInstanceNotFound)
	if err != nil && !missing {
		return err
	}
	power := info.State
	if missing {
		power = states.PowerNoState
	}

	var u computedb.InstanceUpdate
	if in.PowerState != power {
		u.PowerState = ptr(power)
	}
	stoppedByItself := power == states.PowerShutdown || power == states.PowerCrashed
	switch in.VMState {
	case states.VMActive:
		switch {
		case missing:
			log.Error("Instance is missing from the hypervisor; set to ERROR")
			u.VMState = ptr(states.VMError)
		case stoppedByItself:
			log.Warn("Instance shut down by itself; marking it stopped", "power_state", power.String())
			u.VMState = ptr(states.VMStopped)
		case power != states.PowerRunning:
			log.Warn("Instance is unexpectedly not running; recording its power state", "power_state", power.String())
		}
	case states.VMStopped:
		if !missing && power != states.PowerNoState && !stoppedByItself {
			log.Warn("Instance is not stopped; powering it off", "power_state", power.String())
			start := time.Now()
			err := m.driver.PowerOff(ctx, in.UUID)
			m.met.observe(callPowerOff, start)
			if err != nil {
				return fmt.Errorf("powering off: %w", err)
			}
			u.PowerState = ptr(states.PowerShutdown)
			if in.PowerState == states.PowerShutdown {
				u.PowerState = nil
			}
		}
	case states.VMPaused, states.VMSuspended:
		if stoppedByItself {
			log.Warn("Instance shut down by itself; marking it stopped", "power_state", power.String())
			u.VMState = ptr(states.VMStopped)
		}
	}
	if u.PowerState == nil && u.VMState == nil {
		return nil
	}
	return m.casUpdate(ctx, in, u)
}
