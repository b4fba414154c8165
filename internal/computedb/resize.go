package computedb

import (
	"context"

	"github.com/gonova/gonova/internal/compute/states"
)

// FlavorAmounts are the flavor an instance is sized by: its id and the
// vcpus, memory (MB) and root disk (GB) it claims.
type FlavorAmounts struct {
	ID       string
	VCPUs    int
	MemoryMB int64
	RootGB   int64
}

func (f FlavorAmounts) resources() Resources {
	return Resources{int64(f.VCPUs), f.MemoryMB, f.RootGB}
}

// Resize is an instance's resize in progress: nova's instance.old_flavor and
// new_flavor and the second claim its migration context holds. The instance
// holds two claims while it lasts: its own (the instance's flavor fields,
// on the node of its host) and this one, on NodeID: the new flavor's
// amounts on the destination until FinishResize (Finished false), then the
// old flavor's on the source until ConfirmResize or RevertResize.
type Resize struct {
	OldFlavor, NewFlavor FlavorAmounts
	NodeID               int64
	Finished             bool
}

// held is what the second claim holds.
func (r *Resize) held() Resources {
	if r.Finished {
		return r.OldFlavor.resources()
	}
	return r.NewFlavor.resources()
}

// ResizeClaimRequest asks for the second claim of a resize: Flavor's amounts
// on NodeID, beside the claim the instance holds for its current flavor.
type ResizeClaimRequest struct {
	InstanceUUID string
	NodeID       int64
	Flavor       FlavorAmounts
	// Copy is the rest of the new flavor (name, ephemeral, swap, rxtx,
	// extra specs): the instance's flavor copy becomes it at FinishResize
	// and goes back to the old one at RevertResize, as nova's
	// instance.flavor follows new_flavor and old_flavor.
	Copy InstanceFlavor
	// ExpectTaskState, when not nil, makes the claim apply only while the
	// instance's task state is this one (states.TaskNone meaning none).
	ExpectTaskState *states.TaskState
	// Ratios that are > 0 replace the node's own for this claim.
	Ratios AllocationRatios
}

// ResizeStore holds the claims of resizes. Every method is atomic and
// exactly-once in both stores (contract-tested): the nodes' usage counters
// and the instance's fields change in one write.
type ResizeStore interface {
	// ClaimResize claims r.Flavor's amounts on r.NodeID for the instance,
	// which must hold its own claim and no resize: its current flavor
	// becomes the resize's OldFlavor, r.Flavor its NewFlavor. The same
	// request again succeeds without counting twice. Errors: ErrNotFound,
	// ErrNodeNotFound, ErrConflict (no claim held, another resize, or a
	// task state other than ExpectTaskState),
	// *InsufficientResourcesError.
	ClaimResize(ctx context.Context, r ResizeClaimRequest) (Instance, error)
	// FinishResize is finish_resize's switch: the instance takes the new
	// flavor, its own claim moves to the destination node (with its host
	// and node) and the second claim becomes the old flavor's on the
	// source. No usage counter changes. Idempotent once finished;
	// ErrConflict without a resize.
	FinishResize(ctx context.Context, uuid string) (Instance, error)
	// ConfirmResize releases the second claim and ends the resize (old and
	// new flavor cleared): confirm_resize after FinishResize (the source's
	// old flavor), or the undoing of a resize that failed before it (the
	// destination's new flavor). It reports whether this call released
	// it.
	ConfirmResize(ctx context.Context, uuid string) (Instance, bool, error)
	// RevertResize undoes a finished resize: the claim of the new flavor
	// (the instance's own, on the destination) is released, the instance
	// takes the old flavor back with the source's claim as its own and the
	// source's host and node, and the resize ends. It reports whether this
	// call reverted it; ErrConflict when the resize is not finished.
	RevertResize(ctx context.Context, uuid string) (Instance, bool, error)
}

// checkFlavorAmounts refuses a flavor its columns cannot hold.
func checkFlavorAmounts(f FlavorAmounts) error {
	var c checker
	c.text("flavor_id", f.ID, MaxFieldLength)
	c.int32("vcpus", int64(f.VCPUs))
	if c.err == nil && (f.ID == "" || f.VCPUs < 0 || f.MemoryMB < 0 || f.RootGB < 0) {
		return invalid("flavor", "needs an id and amounts that are not negative")
	}
	return c.err
}
