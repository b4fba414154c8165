package computedb

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gonova/gonova/internal/compute/states"
)

// ErrNodeNotFound means the compute node of a claim does not exist (or was
// deleted with its host).
var ErrNodeNotFound = errors.New("computedb: compute node not found")

// ErrInsufficientResources means a node refused a claim; such errors are
// *InsufficientResourcesError.
var ErrInsufficientResources = errors.New("computedb: insufficient compute resources")

// InsufficientResourcesError is a refused claim, with nova's message
// (ComputeResourcesUnavailable, the reasons in the form of nova's former
// claim tests): "Insufficient compute resources: Free vcpu 0.00 VCPU <
// requested 1 VCPU."
type InsufficientResourcesError struct {
	NodeID  int64
	Reasons []string
}

func (e *InsufficientResourcesError) Error() string {
	return "Insufficient compute resources: " + strings.Join(e.Reasons, "; ") + "."
}

// Is makes errors.Is(err, ErrInsufficientResources) true.
func (e *InsufficientResourcesError) Is(target error) bool { return target == ErrInsufficientResources }

// AllocationRatios are a node's overcommit factors (nova's
// cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio).
type AllocationRatios struct {
	CPU, RAM, Disk float64
}

// over returns r with the fields of o that are > 0.
func (r AllocationRatios) over(o AllocationRatios) AllocationRatios {
	if o.CPU > 0 {
		r.CPU = o.CPU
	}
	if o.RAM > 0 {
		r.RAM = o.RAM
	}
	if o.Disk > 0 {
		r.Disk = o.Disk
	}
	return r
}

// orOne replaces ratios <= 0 with 1.0.
func (r AllocationRatios) orOne() AllocationRatios {
	return AllocationRatios{1, 1, 1}.over(r)
}

// ClaimRequest asks for a claim of the instance's resources on a node.
type ClaimRequest struct {
	InstanceUUID string
	NodeID       int64
	// ExpectTaskState, when not nil, makes the claim apply only while the
	// instance's task state is this one (states.TaskNone meaning none).
	ExpectTaskState *states.TaskState
	// Ratios that are > 0 replace the node's own for this claim (a
	// scheduler configured to override them); zero uses the node's.
	Ratios AllocationRatios
	// AvailabilityZone, when not empty, becomes the instance's
	// availability_zone with the claim: the placed host's zone, as nova's
	// conductor records it.
	AvailabilityZone string
	// Group, when set, refuses the node unless its host keeps the hard
	// policy of the instance's server group (*GroupPolicyError).
	Group *GroupClaim
}

// Resources are amounts of vcpus, memory (MB) and root disk (GB).
type Resources struct {
	VCPUs    int64
	MemoryMB int64
	LocalGB  int64
}

// Ratios returns the node's allocation ratios.
func (n Node) Ratios() AllocationRatios {
	return AllocationRatios{CPU: n.CPUAllocationRatio, RAM: n.RAMAllocationRatio, Disk: n.DiskAllocationRatio}
}

// Free is what claims may still take on the node, as placement computes
// capacity: floor((total − reserved) × ratio) minus what claims hold, for each
// resource; override's ratios that are > 0 replace the node's. It may be
// negative when the capacity shrank under existing claims.
func (n Node) Free(override AllocationRatios) Resources {
	r := n.Ratios().over(override)
	capacity := func(total, reserved int64, ratio float64) int64 {
		return int64(math.Floor(float64(total-reserved) * ratio))
	}
	return Resources{
		VCPUs:    capacity(int64(n.VCPUs), int64(n.VCPUsReserved), r.CPU) - int64(n.VCPUsUsed),
		MemoryMB: capacity(n.MemoryMB, n.MemoryMBReserved, r.RAM) - (n.MemoryMBUsed - n.MemoryMBReserved),
		LocalGB:  capacity(n.LocalGB, n.LocalGBReserved, r.Disk) - (n.LocalGBUsed - n.LocalGBReserved),
	}
}

// refusal returns why the node cannot take want (nil when it can). A zero
// amount is never refused, as placement asks only for what is requested.
func (n Node) refusal(want Resources, override AllocationRatios) *InsufficientResourcesError {
	free := n.Free(override)
	var reasons []string
	test := func(kind, unit string, want, free int64) {
		if want > 0 && want > free {
			reasons = append(reasons, fmt.Sprintf("Free %s %.02f %s < requested %d %s", kind, float64(free), unit, want, unit))
		}
	}
	test("vcpu", "VCPU", want.VCPUs, free.VCPUs)
	test("memory", "MB", want.MemoryMB, free.MemoryMB)
	test("disk", "GB", want.LocalGB, free.LocalGB)
	if len(reasons) == 0 {
		return nil
	}
	return &InsufficientResourcesError{NodeID: n.ID, Reasons: reasons}
}

// claimAttempts bounds how often a claim whose refusal no longer holds (the
// node's usage fell between the conditional write and the read that explains
// it) is tried again.
const claimAttempts = 5
