package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/registry"
)

// Store is a registry.Store over a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

var _ registry.Store = (*Store)(nil)

// New returns a Store over pool, whose database must be migrated
// (db.Migrate). The caller keeps ownership of the pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// columns lists every column in the order scanRow reads them.
const columns = `id, uuid::text, host, "binary", topic, report_count, disabled, disabled_reason,
	last_seen_up, forced_down, version, created_at, updated_at, deleted_at, deleted`

// Create implements registry.Store.
func (s *Store) Create(ctx context.Context, n registry.NewService) (registry.Service, error) {
	if err := n.Validate(); err != nil {
		return registry.Service{}, err
	}
	id := n.UUID
	if id == "" {
		id = uuid.NewString()
	} else {
		id, _ = registry.ParseUUID(id) // validated above
	}
	row := s.pool.QueryRow(ctx, `INSERT INTO services
		(uuid, host, "binary", topic, disabled, disabled_reason, version, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())
		RETURNING `+columns,
		id, n.Host, n.Binary, nullString(n.Topic), n.Disabled, nullString(n.DisabledReason), n.Version)
	svc, err := scanRow(row)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return registry.Service{}, duplicate(pgErr.ConstraintName, n)
		}
		return registry.Service{}, fail("creating a service", err)
	}
	return svc, nil
}

func duplicate(constraint string, n registry.NewService) error {
	key := "host+binary"
	switch constraint {
	case "uniq_services0host0topic0deleted":
		key = "host+topic"
	case "uniq_services0uuid":
		key = "uuid"
	}
	return &registry.DuplicateError{Key: key, Host: n.Host, Binary: n.Binary, Topic: n.Topic}
}

// Get implements registry.Store.
func (s *Store) Get(ctx context.Context, id int64) (registry.Service, error) {
	if !registry.ValidID(id) {
		return registry.Service{}, fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	return s.one(ctx, fmt.Sprintf("service %d", id), `SELECT `+columns+` FROM services WHERE id = $1`, id)
}

// GetByUUID implements registry.Store.
func (s *Store) GetByUUID(ctx context.Context, id string) (registry.Service, error) {
	canon, err := registry.ParseUUID(id)
	if err != nil {
		return registry.Service{}, err
	}
	return s.one(ctx, "service "+canon, `SELECT `+columns+` FROM services WHERE uuid = $1`, canon)
}

// GetByHostBinary implements registry.Store.
func (s *Store) GetByHostBinary(ctx context.Context, host, binary string) (registry.Service, error) {
	if err := (registry.Filter{Host: host, Binary: binary}).Validate(); err != nil {
		return registry.Service{}, err
	}
	return s.one(ctx, fmt.Sprintf("service %s on %s", binary, host),
		`SELECT `+columns+` FROM services WHERE host = $1 AND "binary" = $2 AND deleted = 0`, host, binary)
}

func (s *Store) one(ctx context.Context, what, sql string, args ...any) (registry.Service, error) {
	svc, err := scanRow(s.pool.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.Service{}, fmt.Errorf("%w: %s", registry.ErrNotFound, what)
	}
	if err != nil {
		return registry.Service{}, fail("reading "+what, err)
	}
	return svc, nil
}

// List implements registry.Store. The rows and the database clock are read in
// one round trip (a pipelined batch).
func (s *Store) List(ctx context.Context, f registry.Filter) ([]registry.Service, time.Time, error) {
	if err := f.Validate(); err != nil {
		return nil, time.Time{}, err
	}
	b := &pgx.Batch{}
	var now time.Time
	b.Queue(`SELECT now()`).QueryRow(func(r pgx.Row) error { return r.Scan(&now) })
	var out []registry.Service
	b.Queue(`SELECT `+columns+` FROM services
		WHERE ($1 = '' OR host = $1) AND ($2 = '' OR "binary" = $2) AND ($3 OR deleted = 0)
		ORDER BY id`, f.Host, f.Binary, f.IncludeDeleted).Query(func(rows pgx.Rows) error {
		sc := newRowScanner()
		for rows.Next() {
			svc, err := sc.scan(rows)
			if err != nil {
				return err
			}
			out = append(out, svc)
		}
		return rows.Err()
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, time.Time{}, fail("listing services", err)
	}
	return out, now.UTC(), nil
}

// Update implements registry.Store.
func (s *Store) Update(ctx context.Context, id int64, u registry.Update) (registry.Service, error) {
	if err := u.Validate(); err != nil {
		return registry.Service{}, err
	}
	if !registry.ValidID(id) {
		return registry.Service{}, fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	var reason pgtype.Text
	if u.DisabledReason != nil {
		reason = nullString(*u.DisabledReason)
	}
	return s.one(ctx, fmt.Sprintf("service %d", id), `UPDATE services SET
		disabled = COALESCE($2, disabled),
		disabled_reason = CASE WHEN $3 THEN $4 ELSE disabled_reason END,
		forced_down = COALESCE($5, forced_down),
		version = COALESCE($6, version),
		updated_at = now()
		WHERE id = $1 AND deleted = 0
		RETURNING `+columns,
		id, u.Disabled, u.DisabledReason != nil, reason, u.ForcedDown, u.Version)
}

// Delete implements registry.Store.
func (s *Store) Delete(ctx context.Context, id int64) error {
	if !registry.ValidID(id) {
		return fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE services SET deleted = id, deleted_at = now() WHERE id = $1 AND deleted = 0`, id)
	if err != nil {
		return fail(fmt.Sprintf("deleting service %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	return nil
}

// Report implements registry.Store. updated_at moves with last_seen_up, as
// nova's save() of the heartbeat does.
func (s *Store) Report(ctx context.Context, id int64) (registry.Heartbeat, error) {
	if !registry.ValidID(id) {
		return registry.Heartbeat{}, fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	var hb registry.Heartbeat
	err := s.pool.QueryRow(ctx, `UPDATE services
		SET report_count = report_count + 1, last_seen_up = now(), updated_at = now()
		WHERE id = $1 AND deleted = 0
		RETURNING report_count, last_seen_up`, id).Scan(&hb.ReportCount, &hb.LastSeenUp)
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.Heartbeat{}, fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	if err != nil {
		return registry.Heartbeat{}, fail(fmt.Sprintf("reporting service %d", id), err)
	}
	hb.LastSeenUp = hb.LastSeenUp.UTC()
	return hb, nil
}

// Now implements registry.Store: the database's clock.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	if err := s.pool.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return time.Time{}, fail("reading the database clock", err)
	}
	return now.UTC(), nil
}

// MinimumVersion implements registry.Store: one aggregate over the live,
// not forced down rows of binary (NULL, no row, becomes 0).
func (s *Store) MinimumVersion(ctx context.Context, binary string) (int, error) {
	if err := registry.CheckMinimumVersionBinary(binary); err != nil {
		return 0, err
	}
	var v pgtype.Int4
	err := s.pool.QueryRow(ctx, `SELECT min(version) FROM services
		WHERE "binary" = $1 AND deleted = 0 AND NOT forced_down`, binary).Scan(&v)
	if err != nil {
		return 0, fail("reading the minimum version of "+binary, err)
	}
	return int(v.Int32), nil
}

// fail wraps a database error: an outage is marked db.ErrUnavailable, a value
// Postgres refused (the validation's safety net) is registry.ErrInvalid.
func fail(what string, err error) error {
	if db.IsInvalidInput(err) {
		return fmt.Errorf("%w: %s: the database refused a value", registry.ErrInvalid, what)
	}
	return fmt.Errorf("pgstore: %s: %w", what, db.Classify(err))
}

func scanRow(r pgx.Row) (registry.Service, error) { return newRowScanner().scan(r) }

// rowScanner holds the scan targets of one row. Scan takes them as interfaces,
// so they live on the heap; a List reuses one scanner for every row instead of
// allocating a fresh set per row (half of a large list's cost).
type rowScanner struct {
	s                                 registry.Service
	topic, reason                     pgtype.Text
	lastSeen, updated, deletedAt      pgtype.Timestamptz
	reportCount, version, deleted, id int32
	dest                              []any
}

func newRowScanner() *rowScanner {
	sc := &rowScanner{}
	sc.dest = []any{&sc.id, &sc.s.UUID, &sc.s.Host, &sc.s.Binary, &sc.topic, &sc.reportCount, &sc.s.Disabled, &sc.reason,
		&sc.lastSeen, &sc.s.ForcedDown, &sc.version, &sc.s.CreatedAt, &sc.updated, &sc.deletedAt, &sc.deleted}
	return sc
}

func (sc *rowScanner) scan(r pgx.Row) (registry.Service, error) {
	sc.s = registry.Service{}
	if err := r.Scan(sc.dest...); err != nil {
		return registry.Service{}, err
	}
	s := sc.s
	s.ID, s.ReportCount, s.Version, s.Deleted = int64(sc.id), int64(sc.reportCount), int(sc.version), int64(sc.deleted)
	s.Topic, s.DisabledReason = sc.topic.String, sc.reason.String
	s.CreatedAt = s.CreatedAt.UTC()
	s.LastSeenUp, s.UpdatedAt, s.DeletedAt = timePtr(sc.lastSeen), timePtr(sc.updated), timePtr(sc.deletedAt)
	return s, nil
}

func timePtr(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func nullString(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }
