package computedb

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ListActiveInWindow implements Store: one query, the page cut in SQL.
func (p *PG) ListActiveInWindow(ctx context.Context, w UsageWindow) ([]Instance, error) {
	if err := checkUsageWindow(w); err != nil {
		return nil, err
	}
	var mProject, mUUID any
	if w.Marker != "" {
		canon, ok := canonicalUUID(w.Marker)
		if !ok {
			return nil, ErrNotFound
		}
		var proj, id string
		err := p.pool.QueryRow(ctx, `SELECT project_id, uuid::text FROM instances WHERE uuid = $1`, canon).Scan(&proj, &id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, fail("reading the usage marker", err)
		}
		mProject, mUUID = proj, id
	}
	var limit any
	if w.Limit > 0 {
		limit = w.Limit
	}
	rows, err := p.pool.Query(ctx, `SELECT `+instCols+` FROM instances
		WHERE (terminated_at IS NULL OR terminated_at > $1) AND launched_at < $2 AND ($3 = '' OR project_id = $3)
			AND ($4::text IS NULL OR (project_id, uuid) > ($4::text, $5::uuid))
		ORDER BY project_id, uuid LIMIT $6`, w.Begin, w.End, w.ProjectID, mProject, mUUID, limit)
	if err != nil {
		return nil, fail("listing usage", err)
	}
	defer rows.Close()
	sc := newInstanceScanner()
	out := []Instance{}
	for rows.Next() {
		in, err := sc.scan(rows)
		if err != nil {
			return nil, fail("listing usage", err)
		}
		out = append(out, in)
	}
	return out, fail("listing usage", rows.Err())
}
