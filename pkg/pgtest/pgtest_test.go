package pgtest_test

import (
	"context"
	"testing"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
)

// A database from NewDatabase is migrated and dropped when its test ends.
func TestNewDatabaseIsMigratedAndDropped(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("inner", func(t *testing.T) {
		pool := pgtest.NewPool(t)
		var err error
		if err = pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		v, err := db.Version(ctx, pool)
		latest, _ := db.LatestVersion()
		if err != nil || v != latest {
			t.Fatalf("fresh database at version %d, %v; want %d", v, err, latest)
		}
	})
	if name == "" {
		t.Skip("inner test skipped")
	}
	admin := pgtest.Admin(t)
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestDatabaseName(t *testing.T) {
	u, err := pgtest.URLFor("gonova_test_x")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := pgtest.DatabaseName(u); err != nil || n != "gonova_test_x" {
		t.Errorf("DatabaseName(%q) = %q, %v", u, n, err)
	}
	if _, err := pgtest.DatabaseName("postgres://h:5432"); err == nil {
		t.Error("DatabaseName of a URL without database succeeded")
	}
}
