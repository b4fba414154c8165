package fake

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
)

var _ virt.Resizer = (*Driver)(nil)

// MigrateDiskAndPowerOff implements virt.Resizer: the guest is powered off;
// a smaller root disk is refused as libvirt refuses it.
func (d *Driver) MigrateDiskAndPowerOff(ctx context.Context, uuid string, flavor virt.Flavor) error {
	var refused error
	err := d.change(ctx, uuid, "migrate disk", func(inst *instance) {
		if flavor.RootGB < inst.spec.Flavor.RootGB {
			refused = &virt.ResizeError{Reason: "Unable to resize disk down"}
			return
		}
		d.setStateLocked(inst, states.PowerShutdown, fmt.Sprintf("powered off for a resize to %d vcpus, %d MB memory, %d GB disk",
			flavor.VCPUs, flavor.MemoryMB, flavor.RootGB))
	})
	if err != nil {
		return err
	}
	return refused
}

// FinishMigration implements virt.Resizer.
func (d *Driver) FinishMigration(ctx context.Context, spec virt.InstanceSpec, powerOn bool) error {
	return d.respec(ctx, spec, powerOn, "resized")
}

// FinishRevertMigration implements virt.Resizer.
func (d *Driver) FinishRevertMigration(ctx context.Context, spec virt.InstanceSpec, powerOn bool) error {
	return d.respec(ctx, spec, powerOn, "resize reverted")
}

// respec gives the guest spec: the one this host has changes its flavor
// (within this host's capacity beside the others), an absent one is created
// (the guest arriving from the resize's other host); then it is powered on
// or left off.
func (d *Driver) respec(ctx context.Context, spec virt.InstanceSpec, powerOn bool, event string) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	_, ok := d.instances[spec.UUID]
	d.mu.Unlock()
	if !ok {
		inst, err := d.reserve(spec)
		if err != nil {
			return err
		}
		d.mu.Lock()
		inst.spawning = false
		d.mu.Unlock()
	}
	return d.change(ctx, spec.UUID, event, func(inst *instance) {
		inst.spec = spec
		d.consoleLocked(inst, fmt.Sprintf("%s: %d vcpus, %d MB memory, %d GB disk", event, spec.Flavor.VCPUs, spec.Flavor.MemoryMB, spec.Flavor.RootGB))
		if powerOn {
			d.bootLocked(inst, fmt.Sprintf("%s is running", spec.Name))
		} else {
			d.setStateLocked(inst, states.PowerShutdown, "left powered off")
		}
	})
}
