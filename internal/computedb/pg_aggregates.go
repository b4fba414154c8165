package computedb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// aggSelect reads aggregates with their hosts (in the order added) and
// metadata in one statement.
const aggSelect = `SELECT a.id, a.uuid::text, a.name, a.created_at, a.updated_at,
	coalesce((SELECT array_agg(h.host ORDER BY h.id) FROM aggregate_hosts h WHERE h.aggregate_id = a.id), '{}'),
	coalesce((SELECT jsonb_object_agg(m.key, m.value) FROM aggregate_metadata m WHERE m.aggregate_id = a.id), '{}')
	FROM aggregates a`

func scanAggregate(row pgx.Row) (Aggregate, error) {
	var a Aggregate
	err := row.Scan(&a.ID, &a.UUID, &a.Name, &a.CreatedAt, &a.UpdatedAt, &a.Hosts, &a.Metadata)
	if errors.Is(err, pgx.ErrNoRows) {
		return Aggregate{}, ErrNotFound
	}
	if a.Metadata == nil {
		a.Metadata = map[string]string{}
	}
	if a.Hosts == nil {
		a.Hosts = []string{}
	}
	return a, err
}

func getAggregate(ctx context.Context, q querier, id int64) (Aggregate, error) {
	return scanAggregate(q.QueryRow(ctx, aggSelect+` WHERE a.id = $1`, id))
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// CreateAggregate implements Store.
func (p *PG) CreateAggregate(ctx context.Context, name string, metadata map[string]string) (Aggregate, error) {
	if err := checkAggregateName(name); err != nil {
		return Aggregate{}, err
	}
	set := map[string]*string{}
	for k, v := range metadata {
		set[k] = &v
	}
	if err := checkAggregateMetadata(set); err != nil {
		return Aggregate{}, err
	}
	var out Aggregate
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO aggregates (uuid, name) VALUES ($1, $2) RETURNING id`, uuid.NewString(), name).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: %s", ErrAggregateNameExists, name)
		}
		if err != nil {
			return err
		}
		for k, v := range metadata {
			if _, err := tx.Exec(ctx, `INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES ($1, $2, $3)`, id, k, v); err != nil {
				return err
			}
		}
		out, err = getAggregate(ctx, tx, id)
		return err
	})
	if errors.Is(err, ErrAggregateNameExists) {
		return Aggregate{}, err
	}
	return out, fail("creating aggregate", err)
}

// GetAggregate implements Store.
func (p *PG) GetAggregate(ctx context.Context, id int64) (Aggregate, error) {
	if !validID(id) {
		return Aggregate{}, ErrNotFound
	}
	a, err := getAggregate(ctx, p.pool, id)
	return a, fail("reading aggregate", err)
}

// ListAggregates implements Store.
func (p *PG) ListAggregates(ctx context.Context) ([]Aggregate, error) {
	rows, err := p.pool.Query(ctx, aggSelect+` ORDER BY a.id`)
	if err != nil {
		return nil, fail("listing aggregates", err)
	}
	defer rows.Close()
	out := []Aggregate{}
	for rows.Next() {
		a, err := scanAggregate(rows)
		if err != nil {
			return nil, fail("listing aggregates", err)
		}
		out = append(out, a)
	}
	return out, fail("listing aggregates", rows.Err())
}

// changeAggregate runs f in a transaction holding aggregate id's row lock,
// so that changes of one aggregate (a host added, the delete's emptiness
// check) are serialised, then sets updated_at and returns the aggregate.
func (p *PG) changeAggregate(ctx context.Context, id int64, what string, f func(tx pgx.Tx) error) (Aggregate, error) {
	if !validID(id) {
		return Aggregate{}, ErrNotFound
	}
	var out Aggregate
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM aggregates WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if err := f(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE aggregates SET updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		var err error
		out, err = getAggregate(ctx, tx, id)
		return err
	})
	for _, known := range []error{ErrAggregateNameExists, ErrAggregateHostExists, ErrAggregateHostNotFound} {
		if errors.Is(err, known) {
			return Aggregate{}, err
		}
	}
	return out, fail(what, err)
}

// RenameAggregate implements Store.
func (p *PG) RenameAggregate(ctx context.Context, id int64, name string) (Aggregate, error) {
	if err := checkAggregateName(name); err != nil {
		return Aggregate{}, err
	}
	return p.changeAggregate(ctx, id, "renaming aggregate", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE aggregates SET name = $2 WHERE id = $1`, id, name)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: %s", ErrAggregateNameExists, name)
		}
		return err
	})
}

// UpdateAggregateMetadata implements Store.
func (p *PG) UpdateAggregateMetadata(ctx context.Context, id int64, set map[string]*string) (Aggregate, error) {
	if err := checkAggregateMetadata(set); err != nil {
		return Aggregate{}, err
	}
	return p.changeAggregate(ctx, id, "updating aggregate metadata", func(tx pgx.Tx) error {
		for k, v := range set {
			var err error
			if v == nil {
				_, err = tx.Exec(ctx, `DELETE FROM aggregate_metadata WHERE aggregate_id = $1 AND key = $2`, id, k)
			} else {
				_, err = tx.Exec(ctx, `INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES ($1, $2, $3)
					ON CONFLICT (aggregate_id, key) DO UPDATE SET value = EXCLUDED.value`, id, k, *v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// AddAggregateHost implements Store.
func (p *PG) AddAggregateHost(ctx context.Context, id int64, host string) (Aggregate, error) {
	if err := checkHostName(host); err != nil {
		return Aggregate{}, err
	}
	return p.changeAggregate(ctx, id, "adding a host to an aggregate", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO aggregate_hosts (host, aggregate_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, host, id)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: %s", ErrAggregateHostExists, host)
		}
		return err
	})
}

// RemoveAggregateHost implements Store.
func (p *PG) RemoveAggregateHost(ctx context.Context, id int64, host string) (Aggregate, error) {
	if checkHostName(host) != nil {
		return Aggregate{}, fmt.Errorf("%w: %q", ErrAggregateHostNotFound, host)
	}
	return p.changeAggregate(ctx, id, "removing a host from an aggregate", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM aggregate_hosts WHERE aggregate_id = $1 AND host = $2`, id, host)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: %s", ErrAggregateHostNotFound, host)
		}
		return err
	})
}

// DeleteAggregate implements Store: the emptiness check and the delete
// run under the aggregate's row lock, which AddAggregateHost takes too.
func (p *PG) DeleteAggregate(ctx context.Context, id int64) error {
	if !validID(id) {
		return ErrNotFound
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM aggregates WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		var hosts int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM aggregate_hosts WHERE aggregate_id = $1`, id).Scan(&hosts); err != nil {
			return err
		}
		if hosts > 0 {
			return ErrAggregateNotEmpty
		}
		_, err := tx.Exec(ctx, `DELETE FROM aggregates WHERE id = $1`, id)
		return err
	})
	if errors.Is(err, ErrAggregateNotEmpty) {
		return err
	}
	return fail("deleting aggregate", err)
}
