// Package pgtest gives each test (or test package) its own freshly migrated
// Postgres database on the shared test server, and drops it afterwards.
//
// # Why
//
// gonova's tests run against a real Postgres, and many packages test at the
// same time on one server. A database per test (or per package, from
// TestMain) isolates them without any cleanup code in the tests: every
// database starts at the newest schema, and is dropped WITH (FORCE) when the
// test ends, even if a test left connections open. Names come from
// testenv.UniqueName, so parallel packages never collide.
//
// # Logging
//
// The package does not log; failures are reported through testing.TB.
//
// # Metrics
//
// The package exports no metrics.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/testenv"
)

// setupTimeout bounds creating, migrating and dropping one database.
const setupTimeout = time.Minute

// NewDatabase creates a uniquely named, migrated database, registers a
// cleanup that drops it, and returns its URL. It skips the test (fails it in
// CI) when Postgres is not available.
func NewDatabase(t testing.TB) string {
	t.Helper()
	testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	dbURL, drop, err := CreateDatabase(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// NewEmptyDatabase is NewDatabase without the migrations: for tests of the
// migrations themselves.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	name, err := createEmpty(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := DropDatabase(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dbURL, err := URLFor(name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// NewPool opens a pool on a NewDatabase database. The pool is closed in the
// test's cleanup before the database is dropped.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return OpenPool(t, NewDatabase(t))
}

// OpenPool opens another pool on dbURL (for tests that need several pools, or
// a pool per simulated process) and closes it in the test's cleanup.
func OpenPool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	pool, err := db.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// CreateDatabase is NewDatabase for TestMain and benchmarks' shared set-up:
// it creates and migrates a uniquely named database and returns its URL and a
// function that drops it (WITH (FORCE), so open connections do not block it).
// The caller checks that Postgres is available first (testenv).
func CreateDatabase(ctx context.Context) (dbURL string, drop func() error, err error) {
	name, err := createEmpty(ctx)
	if err != nil {
		return "", nil, err
	}
	drop = func() error { return DropDatabase(name) }
	dbURL, err = URLFor(name)
	if err != nil {
		_ = drop()
		return "", nil, err
	}
	pool, err := db.Open(ctx, dbURL)
	if err != nil {
		_ = drop()
		return "", nil, err
	}
	defer pool.Close()
	if _, err := db.Migrate(ctx, pool); err != nil {
		pool.Close()
		_ = drop()
		return "", nil, fmt.Errorf("migrating %s: %w", name, err)
	}
	return dbURL, drop, nil
}

func createEmpty(ctx context.Context) (string, error) {
	name := testenv.UniqueName("gonova_test_")
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		return "", fmt.Errorf("connecting to the admin database %s: %w", redacted(testenv.PostgresURL()), err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return name, nil
}

// DropDatabase drops the named database WITH (FORCE), terminating any
// connection still open on it. A database that does not exist is no error.
func DropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		return fmt.Errorf("connecting to drop database %s: %w", name, err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

// URLFor returns the URL of database name on the test server.
func URLFor(name string) (string, error) {
	u, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		return "", fmt.Errorf("test Postgres URL %s: %w", redacted(testenv.PostgresURL()), err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DatabaseName returns the database part of dbURL.
func DatabaseName(dbURL string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	if len(u.Path) < 2 {
		return "", fmt.Errorf("URL %s names no database", redacted(dbURL))
	}
	return u.Path[1:], nil
}

// Admin opens a connection to the administrative database (for fault tests
// that terminate backends or refuse connections to their own database) and
// closes it in the test's cleanup.
func Admin(t testing.TB) *pgx.Conn {
	t.Helper()
	testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		t.Fatalf("pgtest: admin connection: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
