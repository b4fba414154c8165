package virt

import (
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
)

// Sentinels for errors.Is; the typed errors below match them and carry the
// details for errors.As.
var (
	ErrInstanceNotFound      = errors.New("instance not found")
	ErrInstanceExists        = errors.New("instance exists")
	ErrInsufficientResources = errors.New("insufficient compute resources")
	ErrInvalidState          = errors.New("instance in invalid state")
)

// InstanceNotFoundError: the hypervisor has no instance with this uuid
// (nova's InstanceNotFound).
type InstanceNotFoundError struct{ UUID string }

func (e *InstanceNotFoundError) Error() string {
	return fmt.Sprintf("Instance %s could not be found.", e.UUID)
}

// Is makes errors.Is(err, ErrInstanceNotFound) true.
func (e *InstanceNotFoundError) Is(target error) bool { return target == ErrInstanceNotFound }

// InstanceExistsError: Spawn of a uuid the hypervisor already has (nova's
// InstanceExists).
type InstanceExistsError struct{ UUID, Name string }

func (e *InstanceExistsError) Error() string {
	return fmt.Sprintf("Instance %s (%s) already exists.", e.Name, e.UUID)
}

// Is makes errors.Is(err, ErrInstanceExists) true.
func (e *InstanceExistsError) Is(target error) bool { return target == ErrInstanceExists }

// InsufficientResourcesError: the host cannot fit the flavor (nova's
// ComputeResourcesUnavailable). Resource is "vcpus", "memory_mb" or
// "local_gb".
type InsufficientResourcesError struct {
	Resource  string
	Requested int
	Free      int
}

func (e *InsufficientResourcesError) Error() string {
	return fmt.Sprintf("Insufficient compute resources: %s requested %d, free %d.", e.Resource, e.Requested, e.Free)
}

// Is makes errors.Is(err, ErrInsufficientResources) true.
func (e *InsufficientResourcesError) Is(target error) bool { return target == ErrInsufficientResources }

// InvalidStateError: the action is not possible in the instance's current
// state, for example rebooting one that is still being spawned (nova's
// InstanceInvalidState).
type InvalidStateError struct {
	UUID   string
	State  states.PowerState
	Action string
}

func (e *InvalidStateError) Error() string {
	return fmt.Sprintf("Cannot %s instance %s while it is in power state %s.", e.Action, e.UUID, e.State)
}

// Is makes errors.Is(err, ErrInvalidState) true.
func (e *InvalidStateError) Is(target error) bool { return target == ErrInvalidState }
