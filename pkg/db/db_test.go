package db_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
)

func TestParseConfigErrorsNameTheOption(t *testing.T) {
	cases := []struct {
		url, want string
	}{
		{"", "[database] connection is empty"},
		{"   ", "[database] connection is empty"},
		{"mysql+pymysql://nova:pw@db/nova", `unsupported scheme "mysql"`},
		{"postgresql://nova:s3cret@db:notaport/nova", "[database] connection is not a valid Postgres URL"},
		{"postgresql://nova:s3cret@db:5432", "names no database"},
	}
	for _, c := range cases {
		_, err := db.ParseConfig(c.url, db.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error containing %q", c.url, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseConfig(%q) leaks the password: %v", c.url, err)
		}
	}
	if _, err := db.ParseConfig("postgresql://h/nova", db.Options{MaxPoolSize: -1}); err == nil || !strings.Contains(err.Error(), "max_pool_size") {
		t.Errorf("negative max_pool_size: %v", err)
	}
}

func TestParseConfigSettings(t *testing.T) {
	cfg, err := db.ParseConfig("postgresql+psycopg2://nova:pw@db:5433/nova?sslmode=disable", db.Options{MaxPoolSize: 7, ApplicationName: "nova-compute"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.Host != "db" || cfg.ConnConfig.Port != 5433 || cfg.ConnConfig.Database != "nova" || cfg.ConnConfig.User != "nova" {
		t.Errorf("parsed %+v", cfg.ConnConfig)
	}
	if cfg.MaxConns != 7 || cfg.ConnConfig.RuntimeParams["application_name"] != "nova-compute" {
		t.Errorf("MaxConns %d, application_name %q", cfg.MaxConns, cfg.ConnConfig.RuntimeParams["application_name"])
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.HealthCheckPeriod == 0 {
		t.Errorf("no connect timeout or health check: %v %v", cfg.ConnConfig.ConnectTimeout, cfg.HealthCheckPeriod)
	}
	cfg, err = db.ParseConfig("postgres://db/nova?pool_max_conns=3&application_name=mine&connect_timeout=2", db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 3 || cfg.ConnConfig.RuntimeParams["application_name"] != "mine" || cfg.ConnConfig.ConnectTimeout != 2*time.Second {
		t.Errorf("URL parameters not kept: MaxConns %d, application_name %q, timeout %v",
			cfg.MaxConns, cfg.ConnConfig.RuntimeParams["application_name"], cfg.ConnConfig.ConnectTimeout)
	}
	cfg, _ = db.ParseConfig("postgres://db/nova", db.Options{})
	if int(cfg.MaxConns) != db.DefaultMaxPoolSize() {
		t.Errorf("default MaxConns %d, want %d", cfg.MaxConns, db.DefaultMaxPoolSize())
	}
}

func TestOpenUnreachableServer(t *testing.T) {
	start := time.Now()
	_, err := db.Open(context.Background(), "postgresql://nova:pw@127.0.0.1:1/nova?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "[database] connection") || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("Open on a closed port = %v, want an error naming the option", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Open took %v to fail", time.Since(start))
	}
}

func TestMigrateVersionAndIdempotence(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.OpenPool(t, pgtest.NewEmptyDatabase(t))
	latest, err := db.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	embedded, _ := db.EmbeddedVersions()
	if embedded[0] != 1 || latest != embedded[len(embedded)-1] {
		t.Fatalf("embedded versions %v, latest %d", embedded, latest)
	}

	v, err := db.Version(ctx, pool)
	if err != nil || v != 0 {
		t.Fatalf("Version of an empty database = %d, %v; want 0", v, err)
	}
	var exists bool
	_ = pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", db.VersionTable).Scan(&exists)
	if exists {
		t.Error("Version created goose's table on an empty database")
	}

	res, err := db.MigrateTo(ctx, pool, 1)
	if err != nil || !slices.Equal(res.Applied, []int64{1}) || res.From != 0 || res.To != 1 {
		t.Fatalf("MigrateTo(1) = %+v, %v", res, err)
	}
	res, err = db.Migrate(ctx, pool)
	if err != nil || res.From != 1 || res.To != latest || !slices.Equal(res.Applied, embedded[1:]) {
		t.Fatalf("Migrate = %+v, %v; want %v applied", res, err, embedded[1:])
	}
	res, err = db.Migrate(ctx, pool)
	if err != nil || len(res.Applied) != 0 || res.From != latest || res.To != latest {
		t.Fatalf("second Migrate = %+v, %v; want nothing to do", res, err)
	}
	if v, err := db.Version(ctx, pool); err != nil || v != latest {
		t.Fatalf("Version = %d, %v; want %d", v, err, latest)
	}
	if _, err := db.MigrateTo(ctx, pool, 1); err == nil || !strings.Contains(err.Error(), "downgrading") {
		t.Errorf("MigrateTo a lower version = %v, want a refusal", err)
	}
	if _, err := db.MigrateTo(ctx, pool, 99999); err == nil || !strings.Contains(err.Error(), "no migration has version 99999") {
		t.Errorf("MigrateTo an unknown version = %v", err)
	}
}

// The services table keeps nova's keys: soft-deleted rows do not block a new
// live row, live duplicates are refused by the named constraints.
func TestServicesSchema(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	insert := func(host, binary, topic string) error {
		var tp any
		if topic != "" {
			tp = topic
		}
		_, err := pool.Exec(ctx, `INSERT INTO services (uuid, host, "binary", topic) VALUES (gen_random_uuid(), $1, $2, $3)`, host, binary, tp)
		return err
	}
	constraint := func(err error) string {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return pgErr.ConstraintName
		}
		return ""
	}
	if err := insert("h", "nova-compute", "compute"); err != nil {
		t.Fatal(err)
	}
	if c := constraint(insert("h", "nova-compute", "other")); c != "uniq_services0host0binary0deleted" {
		t.Errorf("duplicate host+binary violated %q", c)
	}
	if c := constraint(insert("h", "nova-x", "compute")); c != "uniq_services0host0topic0deleted" {
		t.Errorf("duplicate host+topic violated %q", c)
	}
	if err := insert("h", "nova-osapi_compute", ""); err != nil {
		t.Errorf("API row: %v", err)
	}
	if err := insert("h", "nova-metadata", ""); err != nil {
		t.Errorf("second topic-less row on a host: %v", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE services SET deleted = id, deleted_at = now() WHERE "binary" = 'nova-compute'`); err != nil {
		t.Fatal(err)
	}
	if err := insert("h", "nova-compute", "compute"); err != nil {
		t.Errorf("re-creating after a soft delete: %v", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE services SET deleted = 12345 WHERE "binary" = 'nova-metadata'`); constraint(err) != "services_deleted_is_zero_or_id" {
		t.Errorf("deleted set to something other than the id: %v", err)
	}
	var rc int
	var disabled, forced bool
	var version int
	if err := pool.QueryRow(ctx, `SELECT report_count, disabled, forced_down, version FROM services WHERE "binary" = 'nova-osapi_compute'`).Scan(&rc, &disabled, &forced, &version); err != nil {
		t.Fatal(err)
	}
	if rc != 0 || disabled || forced || version != 0 {
		t.Errorf("defaults: report_count %d disabled %v forced_down %v version %d", rc, disabled, forced, version)
	}
}

// Services starting together may all run Migrate: they serialise on the
// advisory lock and all succeed.
func TestConcurrentMigrate(t *testing.T) {
	dbURL := pgtest.NewEmptyDatabase(t)
	latest, _ := db.LatestVersion()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	applied := make(chan int, 5)
	for range 5 {
		pool := pgtest.OpenPool(t, dbURL)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := db.Migrate(context.Background(), pool)
			if err == nil && res.To != latest {
				err = errors.New("did not reach the latest version")
			}
			errs <- err
			applied <- len(res.Applied)
		}()
	}
	wg.Wait()
	close(errs)
	close(applied)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	total := 0
	for n := range applied {
		total += n
	}
	embedded, _ := db.EmbeddedVersions()
	if total != len(embedded) {
		t.Errorf("%d migrations applied in total by 5 concurrent callers, want each once (%d)", total, len(embedded))
	}
}
