package rpcapi

import (
	"errors"
	"fmt"

	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Sentinels for errors.Is, matched by the typed errors below on the server
// side and by the client's errors for a compute's answer.
var (
	// ErrInstanceNotFound is nova's InstanceNotFound: the compute has no such
	// instance (in its database or on its hypervisor). nova-api answers 404.
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrInstanceInvalidState is nova's InstanceInvalidState: the action is not
	// possible in the instance's current state. nova-api answers 409.
	ErrInstanceInvalidState = errors.New("instance in invalid state")
)

// novaExceptionModule is where nova defines its exceptions; a Python caller
// catches them by module and class.
const novaExceptionModule = "nova.exception"

// InstanceNotFoundError is returned by a compute handler for an instance it
// does not have. It crosses the wire as nova.exception.InstanceNotFound.
type InstanceNotFoundError struct{ UUID string }

func (e *InstanceNotFoundError) Error() string {
	return fmt.Sprintf("Instance %s could not be found.", e.UUID)
}

// Is makes errors.Is(err, ErrInstanceNotFound) true.
func (e *InstanceNotFoundError) Is(target error) bool { return target == ErrInstanceNotFound }

// OsloClass names nova's exception (rpcsvc.Classifier).
func (e *InstanceNotFoundError) OsloClass() (module, class string) {
	return novaExceptionModule, "InstanceNotFound"
}

// InstanceInvalidStateError is returned by a compute handler asked to act on
// an instance in a state that forbids it (nova's InstanceInvalidState, same
// message). Attr is "vm_state" or "task_state".
type InstanceInvalidStateError struct {
	UUID   string
	Attr   string
	State  string
	Method string
}

func (e *InstanceInvalidStateError) Error() string {
	state := e.State
	if state == "" {
		state = "None"
	}
	return fmt.Sprintf("Instance %s in %s %s. Cannot %s while the instance is in this state.", e.UUID, e.Attr, state, e.Method)
}

// Is makes errors.Is(err, ErrInstanceInvalidState) true.
func (e *InstanceInvalidStateError) Is(target error) bool { return target == ErrInstanceInvalidState }

// OsloClass names nova's exception (rpcsvc.Classifier).
func (e *InstanceInvalidStateError) OsloClass() (module, class string) {
	return novaExceptionModule, "InstanceInvalidState"
}

var (
	_ rpcsvc.Classifier = (*InstanceNotFoundError)(nil)
	_ rpcsvc.Classifier = (*InstanceInvalidStateError)(nil)
)

// remoteError wraps a compute's RemoteError so that it also matches the
// sentinel of its nova class, keeping the remote details for errors.As.
type remoteError struct {
	sentinel error
	remote   *rpcsvc.RemoteError
}

func (e *remoteError) Error() string   { return e.remote.Error() }
func (e *remoteError) Unwrap() []error { return []error{e.sentinel, e.remote} }

// mapRemote turns a RemoteError of a known nova class into an error matching
// the class's sentinel; other errors are returned as they are.
func mapRemote(err error) error {
	var rerr *rpcsvc.RemoteError
	if !errors.As(err, &rerr) {
		return err
	}
	switch rerr.Class {
	case "InstanceNotFound":
		return &remoteError{sentinel: ErrInstanceNotFound, remote: rerr}
	case "InstanceInvalidState":
		return &remoteError{sentinel: ErrInstanceInvalidState, remote: rerr}
	}
	return err
}
