package computedb

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// memActions is the in-memory store's instance_actions and
// instance_actions_events, under a lock of their own.
type memActions struct {
	mu        sync.Mutex
	nextID    int64
	nextEvent int64
	actions   []*Action // in creation order
	events    []*Event  // in creation order
}

// StartAction implements ActionStore.
func (m *Mem) StartAction(_ context.Context, a Action) (Action, error) {
	canon, ok := canonicalUUID(a.InstanceUUID)
	if !ok {
		return Action{}, invalid("instance_uuid", "is not a uuid")
	}
	if err := checkAction(a); err != nil {
		return Action{}, err
	}
	now := m.now()
	m.acts.mu.Lock()
	defer m.acts.mu.Unlock()
	m.acts.nextID++
	a.ID, a.InstanceUUID, a.CreatedAt, a.FinishTime = m.acts.nextID, canon, now, nil
	if a.StartTime.IsZero() {
		a.StartTime = now
	}
	a.StartTime = a.StartTime.UTC()
	st := a.StartTime
	a.UpdatedAt = &st
	cp := a
	m.acts.actions = append(m.acts.actions, &cp)
	return copyAction(&cp), nil
}

func copyAction(a *Action) Action {
	out := *a
	if a.UpdatedAt != nil {
		t := *a.UpdatedAt
		out.UpdatedAt = &t
	}
	if a.FinishTime != nil {
		t := *a.FinishTime
		out.FinishTime = &t
	}
	return out
}

// newestFirst is the actions of uuid, newest first.
func (ma *memActions) newestFirst(uuid string) []*Action {
	var out []*Action
	for i := len(ma.actions) - 1; i >= 0; i-- {
		if ma.actions[i].InstanceUUID == uuid {
			out = append(out, ma.actions[i])
		}
	}
	return out
}

// ListActions implements ActionStore.
func (m *Mem) ListActions(_ context.Context, f ActionFilter) ([]Action, error) {
	canon, ok := canonicalUUID(f.InstanceUUID)
	if !ok {
		return []Action{}, nil
	}
	m.acts.mu.Lock()
	defer m.acts.mu.Unlock()
	rows := m.acts.newestFirst(canon)
	if f.Marker != "" {
		i := slices.IndexFunc(rows, func(a *Action) bool { return a.RequestID == f.Marker })
		if i < 0 {
			return nil, fmt.Errorf("marker %s: %w", f.Marker, ErrNotFound)
		}
		rows = rows[i+1:]
	}
	out := []Action{}
	for _, a := range rows {
		if f.ChangesSince != nil && (a.UpdatedAt == nil || a.UpdatedAt.Before(*f.ChangesSince)) {
			continue
		}
		if f.ChangesBefore != nil && (a.UpdatedAt == nil || a.UpdatedAt.After(*f.ChangesBefore)) {
			continue
		}
		out = append(out, copyAction(a))
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// GetAction implements ActionStore.
func (m *Mem) GetAction(_ context.Context, instanceUUID, requestID string) (Action, error) {
	m.acts.mu.Lock()
	defer m.acts.mu.Unlock()
	a, err := m.acts.byRequest(instanceUUID, requestID)
	if err != nil {
		return Action{}, err
	}
	return copyAction(a), nil
}

func (ma *memActions) byRequest(instanceUUID, requestID string) (*Action, error) {
	canon, ok := canonicalUUID(instanceUUID)
	if !ok {
		return nil, ErrNotFound
	}
	for _, a := range ma.newestFirst(canon) {
		if a.RequestID == requestID {
			return a, nil
		}
	}
	return nil, ErrNotFound
}

// StartEvent implements ActionStore.
func (m *Mem) StartEvent(_ context.Context, r EventRecord) (Event, error) {
	if err := checkEvent(r); err != nil {
		return Event{}, err
	}
	now := m.now()
	if r.Time.IsZero() {
		r.Time = now
	}
	m.acts.mu.Lock()
	defer m.acts.mu.Unlock()
	a, err := m.acts.byRequest(r.InstanceUUID, r.RequestID)
	if err != nil {
		return Event{}, err
	}
	m.acts.nextEvent++
	ev := &Event{ID: m.acts.nextEvent, ActionID: a.ID, Event: r.Event, StartTime: r.Time.UTC(), Host: r.Host, CreatedAt: now}
	m.acts.events = append(m.acts.events, ev)
	t := r.Time.UTC()
	a.UpdatedAt = &t
	return copyEvent(ev), nil
}

// FinishEvent implements ActionStore.
func (m *Mem) FinishEvent(_ context.Context, r EventRecord) (Event, error) {
	if err := checkEvent(r); err != nil {
		return Event{}, err
	}
	if r.Time.IsZero() {
		r.Time = m.now()
	}
	m.acts.mu.Lock()
	defer m.acts.mu.Unlock()
	a, err := m.acts.byRequest(r.InstanceUUID, r.RequestID)
	if err != nil {
		return Event{}, err
	}
	// nova's first(): the event of that name created first.
	i := slices.IndexFunc(m.acts.events, func(e *Event) bool { return e.ActionID == a.ID && e.Event == r.Event })
	if i < 0 {
		return Event{}, fmt.Errorf("event %s of action %d: %w", r.Event, a.ID, ErrNotFound)
	}
	ev := m.acts.events[i]
	t := r.Time.UTC()
	ev.FinishTime, ev.Result, ev.Traceback, ev.Details = &t, r.Result, r.Traceback, r.Details
	if isErrorResult(r.Result) {
		a.Message = EventError
	}
	a.UpdatedAt = &t
	return copyEvent(ev), nil
}

// ListEvents implements ActionStore.
func (m *Mem) ListEvents(_ context.Context, actionID int64) ([]Event, error) {
	m.acts.mu.Lock()
	defer m.acts.mu.Unlock()
	out := []Event{}
	for i := len(m.acts.events) - 1; i >= 0; i-- {
		if e := m.acts.events[i]; e.ActionID == actionID {
			out = append(out, copyEvent(e))
		}
	}
	return out, nil
}

func copyEvent(e *Event) Event {
	out := *e
	if e.FinishTime != nil {
		t := *e.FinishTime
		out.FinishTime = &t
	}
	return out
}
