package computeapi

import (
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/scheduler"
)

// Sentinels for errors.Is; the typed errors below match theirs.
var (
	// ErrInstanceNotFound: no such instance, or not one the caller may see.
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrInstanceInvalidState: the instance's state forbids the action.
	ErrInstanceInvalidState = errors.New("instance in invalid state")
	// ErrInstanceNotReady: the instance has no compute to act on it yet, or
	// its compute says it is in no state to answer. A ComputeRPC returns it
	// (wrapped is fine) for the compute's InstanceInvalidState.
	ErrInstanceNotReady = errors.New("instance is not ready")
	// ErrConsoleNotAvailable: the compute has no console for the guest. A
	// ComputeRPC returns it for the compute's InstanceNotFound.
	ErrConsoleNotAvailable = errors.New("guest does not have a console available")
	// ErrNotSupported: the compute's driver cannot do this (nova's
	// NotImplementedError). A ComputeRPC returns it.
	ErrNotSupported = errors.New("not supported by the compute driver")
	// ErrMarkerNotFound: a list's marker names no instance.
	ErrMarkerNotFound = errors.New("marker not found")
	// ErrNoValidHost: no compute host can take the instance.
	ErrNoValidHost = scheduler.ErrNoValidHost
)

// InstanceNotFoundError is nova's InstanceNotFound. The HTTP API answers
// 404.
type InstanceNotFoundError struct{ UUID string }

func (e *InstanceNotFoundError) Error() string {
	return fmt.Sprintf("Instance %s could not be found.", e.UUID)
}

// Is makes errors.Is(err, ErrInstanceNotFound) true.
func (e *InstanceNotFoundError) Is(target error) bool { return target == ErrInstanceNotFound }

// InstanceInvalidStateError is nova's InstanceInvalidState as
// check_instance_state raises it: Action is not allowed while Attr
// ("vm_state", "task_state" or "launched_at") is State ("" is None). The
// HTTP API answers 409 with this message, as nova's
// raise_http_conflict_for_instance_invalid_state.
type InstanceInvalidStateError struct {
	UUID   string
	Action string
	Attr   string
	State  string
}

func (e *InstanceInvalidStateError) Error() string {
	state := e.State
	if state == "" {
		state = "None"
	}
	return fmt.Sprintf("Cannot '%s' instance %s while it is in %s %s", e.Action, e.UUID, e.Attr, state)
}

// Is makes errors.Is(err, ErrInstanceInvalidState) true.
func (e *InstanceInvalidStateError) Is(target error) bool { return target == ErrInstanceInvalidState }

// invalidState is an InstanceInvalidStateError for a vm or task state.
func invalidState[S ~string](action, id, attr string, state S) error {
	return &InstanceInvalidStateError{UUID: id, Action: action, Attr: attr, State: string(state)}
}

// InstanceNotReadyError is nova's InstanceNotReady. The HTTP API answers
// 409.
type InstanceNotReadyError struct {
	UUID string
	Err  error // the compute's answer, if any
}

func (e *InstanceNotReadyError) Error() string {
	return fmt.Sprintf("Instance %s is not ready", e.UUID)
}

// Is makes errors.Is(err, ErrInstanceNotReady) true.
func (e *InstanceNotReadyError) Is(target error) bool { return target == ErrInstanceNotReady }

// Unwrap returns the compute's answer.
func (e *InstanceNotReadyError) Unwrap() error { return e.Err }

// ConsoleNotAvailableError is nova's ConsoleNotAvailable. The HTTP API
// answers 404.
type ConsoleNotAvailableError struct {
	UUID string
	Err  error // the compute's answer
}

func (e *ConsoleNotAvailableError) Error() string { return "Guest does not have a console available." }

// Is makes errors.Is(err, ErrConsoleNotAvailable) true.
func (e *ConsoleNotAvailableError) Is(target error) bool { return target == ErrConsoleNotAvailable }

// Unwrap returns the compute's answer.
func (e *ConsoleNotAvailableError) Unwrap() error { return e.Err }

// NotSupportedError is the compute driver's NotImplementedError for
// Action. The HTTP API answers 501, as nova's
// common.raise_feature_not_supported.
type NotSupportedError struct {
	Action string
	Err    error // the compute's answer
}

func (e *NotSupportedError) Error() string { return "Action is not supported." }

// Is makes errors.Is(err, ErrNotSupported) true.
func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }

// Unwrap returns the compute's answer.
func (e *NotSupportedError) Unwrap() error { return e.Err }

// MarkerNotFoundError is nova's MarkerNotFound. The HTTP API answers 400.
type MarkerNotFoundError struct{ Marker string }

func (e *MarkerNotFoundError) Error() string { return fmt.Sprintf("marker [%s] not found", e.Marker) }

// Is makes errors.Is(err, ErrMarkerNotFound) true.
func (e *MarkerNotFoundError) Is(target error) bool { return target == ErrMarkerNotFound }

// NoValidHostError is nova's NoValidHost, with its reason: the scheduler's
// error. Create records it as the instance's fault rather than returning it,
// as nova's asynchronous boot does.
type NoValidHostError = scheduler.NoValidHostError

// ErrInstanceLocked: the instance is locked and the caller is not an admin.
var ErrInstanceLocked = errors.New("instance is locked")

// InstanceLockedError is nova's InstanceIsLocked. The HTTP API answers 409.
type InstanceLockedError struct{ UUID string }

func (e *InstanceLockedError) Error() string { return fmt.Sprintf("Instance %s is locked", e.UUID) }

// Is makes errors.Is(err, ErrInstanceLocked) true.
func (e *InstanceLockedError) Is(target error) bool { return target == ErrInstanceLocked }

// ErrComputeTooOld: the instance's compute is of a release that cannot do
// the action.
var ErrComputeTooOld = errors.New("compute too old for the action")

// ComputeTooOldError says the instance's nova-compute (service Version)
// does not serve Action, which needs service version Needed. The HTTP API
// answers 409: the operator upgrades the compute, then the action works.
type ComputeTooOldError struct {
	Action  string
	Host    string
	Version int
	Needed  int
}

func (e *ComputeTooOldError) Error() string {
	return fmt.Sprintf("Cannot '%s' the instance: its compute host %s runs service version %d; the action needs version %d or newer. Upgrade that compute first.",
		e.Action, e.Host, e.Version, e.Needed)
}

// Is makes errors.Is(err, ErrComputeTooOld) true.
func (e *ComputeTooOldError) Is(target error) bool { return target == ErrComputeTooOld }
