package computedb

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// EditInstance implements Store: the row is read FOR UPDATE, edited and
// written back in one transaction, so concurrent edits of one server
// serialize and a limit the edit checks holds.
func (p *PG) EditInstance(ctx context.Context, id string, edit InstanceEdit) (Instance, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return Instance{}, ErrNotFound
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return Instance{}, fail("editing instance "+canon, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var meta map[string]string
	var tags []string
	err = tx.QueryRow(ctx, `SELECT metadata, tags FROM instances WHERE uuid = $1 AND deleted = 0 FOR UPDATE`, canon).Scan(&meta, &tags)
	if errors.Is(err, pgx.ErrNoRows) {
		return Instance{}, ErrNotFound
	}
	if err != nil {
		return Instance{}, fail("editing instance "+canon, err)
	}
	meta, tags, err = edit(metadataOrEmpty(meta), normalTags(tags))
	if err != nil {
		return Instance{}, err
	}
	var c checker
	c.metadata(meta)
	if c.err != nil {
		return Instance{}, c.err
	}
	if err := checkTags(tags); err != nil {
		return Instance{}, err
	}
	in, err := scanInstance(tx.QueryRow(ctx, `UPDATE instances SET metadata = $2, tags = $3, updated_at = now()
		WHERE uuid = $1 AND deleted = 0 RETURNING `+instCols, canon, metadataOrEmpty(meta), normalTags(tags)))
	if err != nil {
		return Instance{}, fail("editing instance "+canon, err)
	}
	return in, fail("editing instance "+canon, tx.Commit(ctx))
}
