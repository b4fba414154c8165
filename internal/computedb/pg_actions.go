package computedb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const actionCols = `id, instance_uuid::text, action, request_id, user_id, project_id, start_time, finish_time,
	coalesce(message, ''), created_at, updated_at`

func scanAction(row pgx.Row) (Action, error) {
	var a Action
	err := row.Scan(&a.ID, &a.InstanceUUID, &a.Action, &a.RequestID, &a.UserID, &a.ProjectID, &a.StartTime, &a.FinishTime,
		&a.Message, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Action{}, ErrNotFound
	}
	return a, err
}

const eventCols = `id, action_id, event, start_time, finish_time, coalesce(result, ''), coalesce(traceback, ''),
	coalesce(host, ''), coalesce(details, ''), created_at`

func scanEvent(row pgx.Row) (Event, error) {
	var e Event
	err := row.Scan(&e.ID, &e.ActionID, &e.Event, &e.StartTime, &e.FinishTime, &e.Result, &e.Traceback, &e.Host, &e.Details, &e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, ErrNotFound
	}
	return e, err
}

// StartAction implements ActionStore.
func (p *PG) StartAction(ctx context.Context, a Action) (Action, error) {
	canon, ok := canonicalUUID(a.InstanceUUID)
	if !ok {
		return Action{}, invalid("instance_uuid", "is not a uuid")
	}
	if err := checkAction(a); err != nil {
		return Action{}, err
	}
	var start any
	if !a.StartTime.IsZero() {
		start = a.StartTime
	}
	out, err := scanAction(p.pool.QueryRow(ctx, `
		WITH t AS (SELECT coalesce($6::timestamptz, clock_timestamp()) AS ts) -- one instant for both columns
		INSERT INTO instance_actions (action, instance_uuid, request_id, user_id, project_id, start_time, updated_at, message)
		SELECT $1, $2, $3, $4, $5, t.ts, t.ts, $7 FROM t
		RETURNING `+actionCols, a.Action, canon, a.RequestID, a.UserID, a.ProjectID, start, nullIfEmpty(a.Message)))
	return out, fail("recording action "+a.Action, err)
}

// latestAction is the subquery of the latest action of ($1, $2).
const latestAction = `SELECT id FROM instance_actions WHERE instance_uuid = $1 AND request_id = $2
	ORDER BY created_at DESC, id DESC LIMIT 1`

// ListActions implements ActionStore: one query, the marker resolved in it.
func (p *PG) ListActions(ctx context.Context, f ActionFilter) ([]Action, error) {
	canon, ok := canonicalUUID(f.InstanceUUID)
	if !ok {
		return []Action{}, nil
	}
	if err := checkEvent(EventRecord{RequestID: f.Marker, Event: "marker"}); err != nil {
		return nil, err
	}
	args := []any{canon}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{"instance_uuid = $1"}
	if f.Marker != "" {
		m, err := scanAction(p.pool.QueryRow(ctx, `SELECT `+actionCols+` FROM instance_actions WHERE id = (`+latestAction+`)`, canon, f.Marker))
		if err != nil {
			return nil, fmt.Errorf("marker %s: %w", f.Marker, fail("reading the marker", err))
		}
		where = append(where, "(created_at, id) < ("+arg(m.CreatedAt)+"::timestamptz, "+arg(m.ID)+"::integer)")
	}
	if f.ChangesSince != nil {
		where = append(where, "updated_at >= "+arg(*f.ChangesSince))
	}
	if f.ChangesBefore != nil {
		where = append(where, "updated_at <= "+arg(*f.ChangesBefore))
	}
	q := `SELECT ` + actionCols + ` FROM instance_actions WHERE ` + strings.Join(where, " AND ") + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fail("listing actions", err)
	}
	defer rows.Close()
	out := []Action{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, fail("listing actions", err)
		}
		out = append(out, a)
	}
	return out, fail("listing actions", rows.Err())
}

// GetAction implements ActionStore.
func (p *PG) GetAction(ctx context.Context, instanceUUID, requestID string) (Action, error) {
	canon, ok := canonicalUUID(instanceUUID)
	if !ok {
		return Action{}, ErrNotFound
	}
	if err := checkEvent(EventRecord{RequestID: requestID, Event: "get"}); err != nil {
		return Action{}, ErrNotFound // no row holds such an id
	}
	a, err := scanAction(p.pool.QueryRow(ctx, `SELECT `+actionCols+` FROM instance_actions WHERE id = (`+latestAction+`)`, canon, requestID))
	return a, fail("reading action "+requestID, err)
}

// StartEvent implements ActionStore: the event and the action's updated_at
// in one statement.
func (p *PG) StartEvent(ctx context.Context, r EventRecord) (Event, error) {
	if err := checkEvent(r); err != nil {
		return Event{}, err
	}
	canon, ok := canonicalUUID(r.InstanceUUID)
	if !ok {
		return Event{}, ErrNotFound
	}
	var at any
	if !r.Time.IsZero() {
		at = r.Time
	}
	e, err := scanEvent(p.pool.QueryRow(ctx, `
		WITH t AS (SELECT coalesce($5::timestamptz, clock_timestamp()) AS ts), -- one instant for both
			a AS (UPDATE instance_actions SET updated_at = (SELECT ts FROM t)
			WHERE id = (`+latestAction+`) RETURNING id)
		INSERT INTO instance_actions_events (action_id, event, start_time, host)
		SELECT a.id, $3, t.ts, $4 FROM a, t
		RETURNING `+eventCols, canon, r.RequestID, r.Event, nullIfEmpty(r.Host), at))
	return e, fail("recording event "+r.Event, err)
}

// FinishEvent implements ActionStore: the event, the action's message and
// updated_at in one transaction.
func (p *PG) FinishEvent(ctx context.Context, r EventRecord) (Event, error) {
	if err := checkEvent(r); err != nil {
		return Event{}, err
	}
	canon, ok := canonicalUUID(r.InstanceUUID)
	if !ok {
		return Event{}, ErrNotFound
	}
	at := r.Time
	if at.IsZero() {
		at = time.Now().UTC()
	}
	var out Event
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var actionID int64
		if err := tx.QueryRow(ctx, latestAction+` FOR UPDATE`, canon, r.RequestID).Scan(&actionID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		var err error
		out, err = scanEvent(tx.QueryRow(ctx, `UPDATE instance_actions_events SET finish_time = $3, result = $4, traceback = $5,
			details = $6, updated_at = clock_timestamp()
			WHERE id = (SELECT id FROM instance_actions_events WHERE action_id = $1 AND event = $2 ORDER BY id LIMIT 1)
			RETURNING `+eventCols, actionID, r.Event, at, nullIfEmpty(r.Result), nullIfEmpty(r.Traceback), nullIfEmpty(r.Details)))
		if err != nil {
			return err
		}
		msg := any(nil)
		if isErrorResult(r.Result) {
			msg = EventError
		}
		_, err = tx.Exec(ctx, `UPDATE instance_actions SET updated_at = $2, message = coalesce($3, message) WHERE id = $1`, actionID, at, msg)
		return err
	})
	return out, fail("finishing event "+r.Event, err)
}

// ListEvents implements ActionStore.
func (p *PG) ListEvents(ctx context.Context, actionID int64) ([]Event, error) {
	if !validID(actionID) {
		return []Event{}, nil
	}
	rows, err := p.pool.Query(ctx, `SELECT `+eventCols+` FROM instance_actions_events WHERE action_id = $1 ORDER BY created_at DESC, id DESC`, actionID)
	if err != nil {
		return nil, fail("listing events", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fail("listing events", err)
		}
		out = append(out, e)
	}
	return out, fail("listing events", rows.Err())
}
