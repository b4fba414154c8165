package fake

import (
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
)

// The methods in this file change the hypervisor behind the compute manager's
// back, for tests of what the manager does when reality drifts from its
// database (nova's _sync_power_states, _cleanup_running_deleted_instances).
// They take no context: they are test controls, not driver calls.

// Crash makes a spawned instance crash: its state becomes CRASHED and its
// console ends with a kernel panic.
func (d *Driver) Crash(uuid string) error {
	return d.simulate(uuid, "crashed", func(inst *instance) {
		d.setStateLocked(inst, states.PowerCrashed, "Kernel panic - not syncing: Fatal exception")
	})
}

// SetPowerState changes a spawned instance's power state as if the guest or
// an operator had done it on the hypervisor (for example SHUTDOWN when the
// guest ran poweroff). Setting RUNNING counts as a boot.
func (d *Driver) SetPowerState(uuid string, state states.PowerState) error {
	if !state.Valid() {
		return fmt.Errorf("virt/fake: invalid power state %d", int(state))
	}
	return d.simulate(uuid, "changed power state", func(inst *instance) {
		event := fmt.Sprintf("power state changed to %s outside of nova", state)
		if state == states.PowerRunning {
			d.bootLocked(inst, event)
			return
		}
		d.setStateLocked(inst, state, event)
	})
}

// Vanish removes an instance as if it had been deleted on the hypervisor
// directly: it is no longer listed, GetInfo returns InstanceNotFoundError and
// its resources are free.
func (d *Driver) Vanish(uuid string) error {
	d.mu.Lock()
	_, err := d.getLocked(uuid)
	if err == nil {
		delete(d.instances, uuid)
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	d.opts.Logger.Info("Simulated: instance vanished from the hypervisor", "instance", uuid)
	return nil
}

func (d *Driver) simulate(uuid, what string, fn func(*instance)) error {
	d.mu.Lock()
	inst, err := d.getLocked(uuid)
	if err == nil && inst.spawning {
		err = &virt.InvalidStateError{UUID: uuid, State: inst.state, Action: "simulate a change of"}
	}
	if err == nil {
		fn(inst)
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	d.opts.Logger.Info("Simulated: instance "+what, "instance", uuid)
	return nil
}
