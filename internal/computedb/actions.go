package computedb

import (
	"context"
	"strings"
	"time"
)

// Action is one instance_actions row: a server action a request started
// (nova's InstanceAction), found by its instance and request id.
type Action struct {
	ID           int64
	InstanceUUID string
	// Action is nova's instance_actions name: "create", "stop", "lock", ...
	Action    string
	RequestID string
	UserID    string
	ProjectID string
	StartTime time.Time
	// FinishTime is never set by gonova (nova sets it only for a few
	// actions); the field is nova's.
	FinishTime *time.Time
	// Message is "Error" once an event of the action failed, "" (nova's
	// None) otherwise.
	Message   string
	CreatedAt time.Time
	// UpdatedAt is the start time at creation, then the time of the last
	// event started or finished (what 2.58's changes-since reads).
	UpdatedAt *time.Time
}

// Event is one instance_actions_events row: a step of an action on a
// compute (nova's InstanceActionEvent, "compute_stop_instance").
type Event struct {
	ID         int64
	ActionID   int64
	Event      string
	StartTime  time.Time
	FinishTime *time.Time
	// Result is "Success" or "Error" once finished, "" before.
	Result    string
	Traceback string
	Host      string
	// Details is the error's message an admin sees from 2.84 ("" none).
	Details   string
	CreatedAt time.Time
}

// Event results, nova's.
const (
	EventSuccess = "Success"
	EventError   = "Error"
)

// ActionFilter selects the actions of one instance, newest first
// (created_at, id descending), as nova's actions_get.
type ActionFilter struct {
	InstanceUUID string
	// Limit is the page size; 0 means no limit.
	Limit int
	// Marker is the request id of the last action of the previous page;
	// one the instance has no action for is ErrNotFound.
	Marker string
	// ChangesSince and ChangesBefore bound updated_at, inclusive.
	ChangesSince, ChangesBefore *time.Time
}

// EventRecord names an event of an action: the action is the latest of
// InstanceUUID with RequestID.
type EventRecord struct {
	InstanceUUID string
	RequestID    string
	Event        string
	// Host is the compute recording the event (start only).
	Host string
	// Time is when it started (start) or finished (finish); zero: now.
	Time time.Time
	// Result, Traceback and Details are the finish's (Result EventSuccess or
	// EventError).
	Result    string
	Traceback string
	Details   string
}

// ActionStore records instance actions and events. Both stores implement it
// with the same contract (contract_test.go).
type ActionStore interface {
	// StartAction records a new action (nova's action_start): StartTime is
	// now when zero, and UpdatedAt is StartTime.
	StartAction(ctx context.Context, a Action) (Action, error)
	// ListActions returns an instance's actions, newest first.
	ListActions(ctx context.Context, f ActionFilter) ([]Action, error)
	// GetAction returns the latest action of the instance with requestID,
	// or ErrNotFound.
	GetAction(ctx context.Context, instanceUUID, requestID string) (Action, error)
	// StartEvent records that an event of the action began, and moves the
	// action's UpdatedAt to its time (nova's action_event_start). No such
	// action is ErrNotFound.
	StartEvent(ctx context.Context, r EventRecord) (Event, error)
	// FinishEvent records an event's end: finish time, result, traceback and
	// details; an error result sets the action's message to "Error" (nova's
	// action_event_finish). An event never started is ErrNotFound.
	FinishEvent(ctx context.Context, r EventRecord) (Event, error)
	// ListEvents returns an action's events, newest first.
	ListEvents(ctx context.Context, actionID int64) ([]Event, error)
}

func checkAction(a Action) error {
	var c checker
	c.text("action", a.Action, MaxFieldLength)
	c.text("request_id", a.RequestID, MaxFieldLength)
	c.text("user_id", a.UserID, MaxFieldLength)
	c.text("project_id", a.ProjectID, MaxFieldLength)
	c.text("message", a.Message, MaxFieldLength)
	if c.err == nil && (a.Action == "" || a.RequestID == "") {
		return invalid("action", "needs a name and a request id")
	}
	return c.err
}

func checkEvent(r EventRecord) error {
	var c checker
	c.text("request_id", r.RequestID, MaxFieldLength)
	c.text("event", r.Event, MaxFieldLength)
	c.text("host", r.Host, MaxFieldLength)
	c.text("result", r.Result, MaxFieldLength)
	c.text("traceback", r.Traceback, unbounded)
	c.text("details", r.Details, unbounded)
	if c.err == nil && r.Event == "" {
		return invalid("event", "needs a name")
	}
	return c.err
}

// isErrorResult is nova's values['result'].lower() == 'error'.
func isErrorResult(s string) bool { return strings.EqualFold(s, EventError) }
