package fake

import (
	"context"
	"slices"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
)

// Pause freezes a running instance: state PAUSED. Any other state is an
// InvalidStateError, as a hypervisor refuses to pause a guest that does
// not run.
func (d *Driver) Pause(ctx context.Context, uuid string) error {
	return d.transition(ctx, uuid, "pause", []states.PowerState{states.PowerRunning}, states.PowerPaused, "paused")
}

// Unpause runs a paused instance again.
func (d *Driver) Unpause(ctx context.Context, uuid string) error {
	return d.transition(ctx, uuid, "unpause", []states.PowerState{states.PowerPaused}, states.PowerRunning, "unpaused")
}

// Suspend saves a running or paused instance to disk: state SUSPENDED.
func (d *Driver) Suspend(ctx context.Context, uuid string) error {
	return d.transition(ctx, uuid, "suspend", []states.PowerState{states.PowerRunning, states.PowerPaused}, states.PowerSuspended, "suspended to disk")
}

// Resume runs a suspended instance again.
func (d *Driver) Resume(ctx context.Context, uuid string) error {
	return d.transition(ctx, uuid, "resume", []states.PowerState{states.PowerSuspended}, states.PowerRunning, "resumed")
}

// transition moves a spawned instance from one of from to state to,
// logging event on its console; from another state it is an
// InvalidStateError.
func (d *Driver) transition(ctx context.Context, uuid, action string, from []states.PowerState, to states.PowerState, event string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inst, err := d.getLocked(uuid)
	if err != nil {
		return err
	}
	if inst.spawning || !slices.Contains(from, inst.state) {
		return &virt.InvalidStateError{UUID: uuid, State: inst.state, Action: action}
	}
	inst.state = to // the guest keeps its boot time: it was never shut down
	d.consoleLocked(inst, event)
	d.opts.Logger.Debug("Instance "+action, "instance", uuid, "power_state", inst.state.String())
	return nil
}
