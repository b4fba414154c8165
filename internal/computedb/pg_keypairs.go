package computedb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const keyPairCols = `id, name, user_id, fingerprint, public_key, type, created_at, updated_at`

func scanKeyPair(row pgx.Row) (KeyPair, error) {
	var kp KeyPair
	err := row.Scan(&kp.ID, &kp.Name, &kp.UserID, &kp.Fingerprint, &kp.PublicKey, &kp.Type, &kp.CreatedAt, &kp.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return kp, ErrNotFound
	}
	return kp, err
}

// CreateKeyPair implements KeyPairStore: a transaction-scoped advisory
// lock on the user serializes the user's creates, so the count and the
// insert hold together in every API worker.
func (p *PG) CreateKeyPair(ctx context.Context, kp KeyPair, maxPerUser int) (KeyPair, error) {
	if kp.Type == "" {
		kp.Type = "ssh"
	}
	if err := checkKeyPair(kp); err != nil {
		return KeyPair{}, err
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return KeyPair{}, fail("creating key pair", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('key_pairs:' || $1, 0))`, kp.UserID); err != nil {
		return KeyPair{}, fail("creating key pair", err)
	}
	var n int
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(name = $2), false) FROM key_pairs WHERE user_id = $1`, kp.UserID, kp.Name).Scan(&n, &exists); err != nil {
		return KeyPair{}, fail("creating key pair", err)
	}
	if exists {
		return KeyPair{}, fmt.Errorf("%w: key pair %s exists", ErrConflict, kp.Name)
	}
	if maxPerUser >= 0 && n >= maxPerUser {
		return KeyPair{}, ErrKeyPairLimit
	}
	out, err := scanKeyPair(tx.QueryRow(ctx, `INSERT INTO key_pairs (name, user_id, fingerprint, public_key, type)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+keyPairCols, kp.Name, kp.UserID, kp.Fingerprint, kp.PublicKey, kp.Type))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return KeyPair{}, fmt.Errorf("%w: key pair %s exists", ErrConflict, kp.Name)
	}
	if err != nil {
		return KeyPair{}, fail("creating key pair", err)
	}
	return out, fail("creating key pair", tx.Commit(ctx))
}

// GetKeyPair implements KeyPairStore.
func (p *PG) GetKeyPair(ctx context.Context, userID, name string) (KeyPair, error) {
	if !checkLookup(userID, name) {
		return KeyPair{}, ErrNotFound
	}
	kp, err := scanKeyPair(p.pool.QueryRow(ctx, `SELECT `+keyPairCols+` FROM key_pairs WHERE user_id = $1 AND name = $2`, userID, name))
	return kp, fail("reading key pair", err)
}

// ListKeyPairs implements KeyPairStore.
func (p *PG) ListKeyPairs(ctx context.Context, userID string, limit int, marker string) ([]KeyPair, error) {
	if !checkLookup(userID, marker) {
		return nil, ErrNotFound
	}
	var after int64
	if marker != "" {
		err := p.pool.QueryRow(ctx, `SELECT id FROM key_pairs WHERE user_id = $1 AND name = $2`, userID, marker).Scan(&after)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("marker %s: %w", marker, ErrNotFound)
		}
		if err != nil {
			return nil, fail("reading the marker", err)
		}
	}
	q := `SELECT ` + keyPairCols + ` FROM key_pairs WHERE user_id = $1 AND id > $2 ORDER BY id`
	args := []any{userID, after}
	if limit > 0 {
		q += " LIMIT $3"
		args = append(args, limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fail("listing key pairs", err)
	}
	defer rows.Close()
	out := []KeyPair{}
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			return nil, fail("listing key pairs", err)
		}
		out = append(out, kp)
	}
	return out, fail("listing key pairs", rows.Err())
}

// DeleteKeyPair implements KeyPairStore.
func (p *PG) DeleteKeyPair(ctx context.Context, userID, name string) error {
	if !checkLookup(userID, name) {
		return ErrNotFound
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM key_pairs WHERE user_id = $1 AND name = $2`, userID, name)
	if err != nil {
		return fail("deleting key pair", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
