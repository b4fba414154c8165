package virt

import (
	"context"
	"fmt"
)

// Resizer is a driver that resizes guests: nova's
// migrate_disk_and_power_off (source), finish_migration (destination) and
// finish_revert_migration (source). A resize between two hosts moves the
// guest: the source keeps it powered off until the resize is confirmed
// (then destroyed) or reverted (then powered back per the old state);
// within one host the guest is resized in place. A driver that is not a
// Resizer cannot resize.
type Resizer interface {
	// MigrateDiskAndPowerOff powers the guest off for a resize to flavor;
	// a root disk smaller than the guest's is a *ResizeError (nova's
	// libvirt "Unable to resize disk down.").
	MigrateDiskAndPowerOff(ctx context.Context, uuid string, flavor Flavor) error
	// FinishMigration makes the guest spec's (resizing the one this host
	// has, or creating it from the source's) and powers it on if asked.
	FinishMigration(ctx context.Context, spec InstanceSpec, powerOn bool) error
	// FinishRevertMigration gives the guest its spec (the old flavor) back
	// on the source and powers it on if asked.
	FinishRevertMigration(ctx context.Context, spec InstanceSpec, powerOn bool) error
}

// ResizeError is nova's ResizeError: the driver cannot resize the guest;
// the resize is rolled back (nova's InstanceFaultRollback).
type ResizeError struct{ Reason string }

func (e *ResizeError) Error() string { return fmt.Sprintf("Resize error: %s.", e.Reason) }
