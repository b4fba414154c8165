package computeapi

import (
	"context"
	"errors"
	"time"

	"github.com/gonova/gonova/internal/computedb"
)

// Who locked an instance (instances.locked_by), nova's values.
const (
	LockedByOwner = "owner"
	LockedByAdmin = "admin"
)

// Lock is nova's lock: the instance becomes locked by its owner (a caller
// of its project) or by an admin (anyone else), with reason (2.73; "" for
// none). An owner locking an instance already locked changes nothing and
// records nothing, as nova; otherwise the lock action is recorded with its
// api_lock event (host: this API's). No state is checked and nothing is
// cast: the lock lives in the database.
func (a *API) Lock(ctx context.Context, c Caller, in computedb.Instance, reason string) error {
	isOwner := in.ProjectID == c.ProjectID
	if in.Locked && isOwner {
		return nil
	}
	by := LockedByAdmin
	if isOwner {
		by = LockedByOwner
	}
	yes := true
	u := computedb.InstanceUpdate{Locked: &yes, LockedBy: &by}
	if reason != "" {
		u.LockedReason = &reason
	}
	return a.apiAction(ctx, c, in, ActionLock, u)
}

// IsExpectedLockedBy is nova's is_expected_locked_by: false when the
// instance is locked by the other party than the caller would be (an owner
// facing an admin's lock, or the reverse). Unlocking then needs the
// unlock_override policy.
func IsExpectedLockedBy(c Caller, in computedb.Instance) bool {
	expect := LockedByAdmin
	if in.ProjectID == c.ProjectID {
		expect = LockedByOwner
	}
	return in.LockedBy == "" || in.LockedBy == expect
}

// Unlock is nova's unlock: the lock, who held it and its reason are
// cleared, and the unlock action recorded with its api_unlock event.
func (a *API) Unlock(ctx context.Context, c Caller, in computedb.Instance) error {
	no, none := false, ""
	return a.apiAction(ctx, c, in, ActionUnlock, computedb.InstanceUpdate{Locked: &no, LockedBy: &none, LockedReason: &none})
}

// apiAction records action, applies u as nova's wrap_instance_event(prefix
// 'api') wraps it (event "api_<action>" on this API's host, Success or
// Error), and maps an instance deleted meanwhile to InstanceNotFound.
func (a *API) apiAction(ctx context.Context, c Caller, in computedb.Instance, action string, u computedb.InstanceUpdate) error {
	if err := a.recordAction(ctx, c, in, action); err != nil {
		return err
	}
	event := computedb.EventRecord{InstanceUUID: in.UUID, RequestID: c.RequestID, Event: "api_" + action, Host: a.host}
	recorded := false
	if c.RequestID != "" {
		event.Time = time.Now().UTC()
		if _, err := a.compute.StartEvent(ctx, event); err != nil {
			a.logger(c).WarnContext(ctx, "recording the start of the "+event.Event+" event failed", "instance_uuid", in.UUID, "error", err)
		} else {
			recorded = true
		}
	}
	_, err := a.compute.UpdateInstance(ctx, in.UUID, u)
	if recorded {
		event.Time, event.Result = time.Now().UTC(), computedb.EventSuccess
		if err != nil {
			event.Result, event.Traceback, event.Details = computedb.EventError, err.Error(), err.Error()
		}
		if _, ferr := a.compute.FinishEvent(ctx, event); ferr != nil {
			a.logger(c).WarnContext(ctx, "recording the end of the "+event.Event+" event failed", "instance_uuid", in.UUID, "error", ferr)
		}
	}
	if errors.Is(err, computedb.ErrNotFound) {
		return &InstanceNotFoundError{UUID: in.UUID}
	}
	if err == nil {
		a.logger(c).InfoContext(ctx, "server "+action+"ed", "instance_uuid", in.UUID)
	}
	return err
}
