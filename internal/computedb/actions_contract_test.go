package computedb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// runActionContract: instance actions and events, the same in both stores
// (nova's action_start, actions_get, action_event_start/finish).
func runActionContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	inst, other := uuid.NewString(), uuid.NewString()
	start := func(id, action, req string) Action {
		t.Helper()
		a, err := s.StartAction(ctx, Action{InstanceUUID: id, Action: action, RequestID: req, UserID: "u", ProjectID: "p"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct created_at
		return a
	}
	create := start(inst, "create", "req-1")
	if create.ID == 0 || create.StartTime.IsZero() || create.UpdatedAt == nil || !create.UpdatedAt.Equal(create.StartTime) ||
		create.Message != "" || create.FinishTime != nil || create.InstanceUUID != inst {
		t.Fatalf("started action = %+v", create)
	}
	start(inst, "stop", "req-2")
	start(other, "create", "req-3")
	start(inst, "start", "req-4")

	actionsOf := func(f ActionFilter) string {
		t.Helper()
		list, err := s.ListActions(ctx, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var out []string
		for _, a := range list {
			out = append(out, a.Action)
		}
		return strings.Join(out, ",")
	}
	if got := actionsOf(ActionFilter{InstanceUUID: inst}); got != "start,stop,create" {
		t.Errorf("actions newest first: %s", got)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: strings.ToUpper(inst), Limit: 2}); got != "start,stop" {
		t.Errorf("limit 2 (uuid in upper case): %s", got)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: inst, Marker: "req-4", Limit: 1}); got != "stop" {
		t.Errorf("after marker req-4: %s", got)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: inst, Marker: "req-2"}); got != "create" {
		t.Errorf("after marker req-2: %s", got)
	}
	if _, err := s.ListActions(ctx, ActionFilter{InstanceUUID: inst, Marker: "req-3"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another instance's request id as marker: %v", err)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: uuid.NewString()}); got != "" {
		t.Errorf("an instance without actions: %s", got)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: "not-a-uuid"}); got != "" {
		t.Errorf("not a uuid: %s", got)
	}

	// Events: start moves the action's updated_at; finish records the
	// result, and an error marks the action.
	stop, err := s.GetAction(ctx, inst, "req-2")
	if err != nil || stop.Action != "stop" {
		t.Fatalf("GetAction = %+v, %v", stop, err)
	}
	if _, err := s.GetAction(ctx, inst, "req-3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetAction of another instance's request: %v", err)
	}
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Microsecond)
	ev, err := s.StartEvent(ctx, EventRecord{InstanceUUID: inst, RequestID: "req-2", Event: "compute_stop_instance", Host: "c1", Time: at})
	if err != nil || ev.ActionID != stop.ID || ev.Host != "c1" || !ev.StartTime.Equal(at) || ev.FinishTime != nil || ev.Result != "" {
		t.Fatalf("StartEvent = %+v, %v", ev, err)
	}
	if a, _ := s.GetAction(ctx, inst, "req-2"); a.UpdatedAt == nil || !a.UpdatedAt.Equal(at) {
		t.Errorf("updated_at after the event's start: %v, want %v", a.UpdatedAt, at)
	}
	since := at.Add(-time.Second)
	if got := actionsOf(ActionFilter{InstanceUUID: inst, ChangesSince: &since}); got != "stop" {
		t.Errorf("changes-since: %s", got)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: inst, ChangesBefore: &since}); got != "start,create" {
		t.Errorf("changes-before: %s", got)
	}
	fin := at.Add(time.Second)
	ev, err = s.FinishEvent(ctx, EventRecord{InstanceUUID: inst, RequestID: "req-2", Event: "compute_stop_instance", Time: fin,
		Result: EventError, Traceback: "Traceback: boom", Details: "boom"})
	if err != nil || ev.FinishTime == nil || !ev.FinishTime.Equal(fin) || ev.Result != EventError || ev.Traceback != "Traceback: boom" || ev.Details != "boom" || ev.Host != "c1" {
		t.Fatalf("FinishEvent = %+v, %v", ev, err)
	}
	if a, _ := s.GetAction(ctx, inst, "req-2"); a.Message != "Error" || !a.UpdatedAt.Equal(fin) {
		t.Errorf("action after an error: %+v", a)
	}
	if _, err := s.StartEvent(ctx, EventRecord{InstanceUUID: inst, RequestID: "req-2", Event: "compute_other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishEvent(ctx, EventRecord{InstanceUUID: inst, RequestID: "req-2", Event: "compute_other", Result: EventSuccess}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.GetAction(ctx, inst, "req-2"); a.Message != "Error" {
		t.Errorf("a later success cleared the error: %+v", a)
	}
	evs, err := s.ListEvents(ctx, stop.ID)
	if err != nil || len(evs) != 2 || evs[0].Event != "compute_other" || evs[1].Event != "compute_stop_instance" || evs[0].Result != EventSuccess {
		t.Fatalf("ListEvents = %+v, %v", evs, err)
	}
	if evs, err := s.ListEvents(ctx, create.ID); err != nil || len(evs) != 0 {
		t.Errorf("events of an action without any: %+v, %v", evs, err)
	}

	// Refusals: no action for the request; an event never started; bad input.
	if _, err := s.StartEvent(ctx, EventRecord{InstanceUUID: inst, RequestID: "req-none", Event: "e"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("event of no action: %v", err)
	}
	if _, err := s.FinishEvent(ctx, EventRecord{InstanceUUID: inst, RequestID: "req-4", Event: "never", Result: EventSuccess}); !errors.Is(err, ErrNotFound) {
		t.Errorf("finish of an event never started: %v", err)
	}
	for _, a := range []Action{
		{InstanceUUID: "x", Action: "stop", RequestID: "r"},
		{InstanceUUID: inst, Action: "", RequestID: "r"},
		{InstanceUUID: inst, Action: "stop", RequestID: "r\x00"},
		{InstanceUUID: inst, Action: strings.Repeat("a", 256), RequestID: "r"},
	} {
		if _, err := s.StartAction(ctx, a); !errors.Is(err, ErrInvalid) {
			t.Errorf("StartAction(%q, %q) = %v, want ErrInvalid", a.InstanceUUID, a.Action, err)
		}
	}
	// Actions outlive their instance (nova's 2.21 shows a deleted server's).
	in, err := s.CreateInstance(ctx, Instance{DisplayName: "doomed"})
	if err != nil {
		t.Fatal(err)
	}
	start(in.UUID, "create", "req-d1")
	start(in.UUID, "delete", "req-d2")
	if err := s.DeleteInstance(ctx, in.UUID); err != nil {
		t.Fatal(err)
	}
	if got := actionsOf(ActionFilter{InstanceUUID: in.UUID}); got != "delete,create" {
		t.Errorf("actions of a deleted instance: %s", got)
	}
}

// runUpdateFieldsContract: the fields a create, a rebuild, PUT and a lock
// write, kept and cleared alike by both stores.
func runUpdateFieldsContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	in, err := s.CreateInstance(ctx, Instance{DisplayName: "a", Description: "d", Hostname: "a-host", ReservationID: "r-12345678",
		Locked: true, LockedBy: "owner", Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Description != "d" || in.Hostname != "a-host" || in.ReservationID != "r-12345678" || in.Locked || in.LockedBy != "" {
		t.Fatalf("created %+v (a new row is unlocked)", in)
	}
	name, empty, host, img := "b", "", "b-host", "img-2"
	md := map[string]string{"x": "y"}
	in, err = s.UpdateInstance(ctx, in.UUID, InstanceUpdate{DisplayName: &name, Description: &empty, Hostname: &host, ImageRef: &img, Metadata: &md})
	if err != nil {
		t.Fatal(err)
	}
	if in.DisplayName != "b" || in.Description != "" || in.Hostname != "b-host" || in.ImageRef != "img-2" ||
		len(in.Metadata) != 1 || in.Metadata["x"] != "y" || in.ReservationID != "r-12345678" {
		t.Fatalf("updated %+v", in)
	}
	got, err := s.GetInstance(ctx, in.UUID)
	if err != nil || got.DisplayName != "b" || got.Hostname != "b-host" || got.Metadata["x"] != "y" || got.Description != "" {
		t.Fatalf("read back %+v, %v", got, err)
	}
	long := strings.Repeat("h", 256)
	if _, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{Hostname: &long}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 256-character hostname: %v", err)
	}
	nul := "a\x00b"
	if _, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{Description: &nul}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a description with NUL: %v", err)
	}
}
