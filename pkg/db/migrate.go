package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gonova/gonova/migrations"
)

// VersionTable is the table in which goose records applied migrations.
const VersionTable = "goose_db_version"

// migrationLockID is the advisory lock that serialises concurrent Migrate
// calls against one database ("gonova" in ASCII).
const migrationLockID int64 = 0x676f6e6f7661

// Result says what a Migrate call did.
type Result struct {
	From    int64   // schema version before the call (0: none applied)
	To      int64   // schema version after the call
	Applied []int64 // versions applied by this call, in order; empty when up to date
}

// Migrate brings the schema up to the newest embedded migration
// (`nova-manage db sync`). It is safe to call from several processes at once:
// the second waits for the first and then finds nothing to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (Result, error) {
	latest, err := LatestVersion()
	if err != nil {
		return Result{}, err
	}
	return MigrateTo(ctx, pool, latest)
}

// MigrateTo applies migrations up to and including version. Downgrades are
// refused, as nova refuses them: a version lower than the applied one is an
// error, as is a version that no embedded migration has.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, version int64) (Result, error) {
	known, err := EmbeddedVersions()
	if err != nil {
		return Result{}, err
	}
	if !slices.Contains(known, version) {
		return Result{}, fmt.Errorf("db: no migration has version %d (known: %v)", version, known)
	}
	p, closeFn, err := newProvider(pool)
	if err != nil {
		return Result{}, err
	}
	defer closeFn()
	from, err := p.GetDBVersion(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("db: reading the schema version: %w", err)
	}
	if version < from {
		return Result{From: from, To: from}, fmt.Errorf("db: the schema is at version %d; downgrading to %d is not supported", from, version)
	}
	results, err := p.UpTo(ctx, version)
	var res Result
	for _, r := range results {
		if r.Error == nil && r.Source != nil {
			res.Applied = append(res.Applied, r.Source.Version)
		}
	}
	if err != nil {
		return res, fmt.Errorf("db: migrating from version %d to %d: %w", from, version, err)
	}
	// Another process may have migrated while this one waited for the lock:
	// the version read before is stale then, so read it again.
	if res.To, err = p.GetDBVersion(ctx); err != nil {
		return res, fmt.Errorf("db: reading the schema version after migrating: %w", err)
	}
	res.From = res.To
	if len(res.Applied) > 0 {
		res.From = 0
		for _, v := range known {
			if v < res.Applied[0] {
				res.From = v
			}
		}
	}
	return res, nil
}

// Version returns the highest applied schema version (`nova-manage db
// version`), 0 when the database was never migrated. It does not create
// goose's version table.
func Version(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", VersionTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("db: reading the schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	p, closeFn, err := newProvider(pool)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("db: reading the schema version: %w", err)
	}
	return v, nil
}

// LatestVersion returns the newest embedded migration's version: the version
// Migrate brings a database to, and the one a binary expects.
func LatestVersion() (int64, error) {
	vs, err := EmbeddedVersions()
	if err != nil {
		return 0, err
	}
	if len(vs) == 0 {
		return 0, errors.New("db: no migrations are embedded")
	}
	return vs[len(vs)-1], nil
}

// EmbeddedVersions lists the versions of the embedded migrations, ascending.
func EmbeddedVersions() ([]int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("db: listing migrations: %w", err)
	}
	vs := make([]int64, 0, len(names))
	for _, n := range names {
		v, err := goose.NumericComponent(path.Base(n))
		if err != nil {
			return nil, fmt.Errorf("db: migration file %q: %w", n, err)
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs, nil
}

func newProvider(pool *pgxpool.Pool) (*goose.Provider, func(), error) {
	sqlDB := stdlib.OpenDBFromPool(pool) // closing it leaves the pool open
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS,
		goose.WithSessionLocker(advisoryLocker{id: migrationLockID}),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, fmt.Errorf("db: loading migrations: %w", err)
	}
	return p, func() { _ = p.Close() }, nil
}

// advisoryLocker serialises migrations with a blocking session-level advisory
// lock. goose's own Postgres locker polls pg_try_advisory_lock every few
// seconds; blocking in pg_advisory_lock lets the second of two services
// starting together continue the moment the first is done, and still ends
// when ctx does.
type advisoryLocker struct{ id int64 }

var _ lock.SessionLocker = advisoryLocker{}

func (l advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", l.id); err != nil {
		return fmt.Errorf("db: waiting for the migration lock: %w", err)
	}
	return nil
}

func (l advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", l.id); err != nil {
		return fmt.Errorf("db: releasing the migration lock: %w", err)
	}
	return nil
}
