package servicegroup_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/testenv"
)

// pgFixture is a heartbeat on a real Postgres database of its own, with the
// real clock and a short interval. The service's pool has its own
// application_name so that a fault test can terminate exactly its
// connections; check reads rows through a second pool.
type pgFixture struct {
	t        *testing.T
	ctx      context.Context
	dbName   string
	appName  string
	admin    *pgx.Conn
	check    *pgstore.Store
	store    *pgstore.Store
	reg      *prometheus.Registry
	logs     *logBuffer
	svc      registry.Service
	hb       *servicegroup.Heartbeat
	interval time.Duration
}

func newPGFixture(t *testing.T, interval time.Duration) *pgFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("fault test against Postgres skipped in -short mode")
	}
	dbURL := pgtest.NewDatabase(t)
	name, err := pgtest.DatabaseName(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	admin := pgtest.Admin(t)
	// Runs before the database is dropped (cleanups are last-in first-out).
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" ALLOW_CONNECTIONS true")
	})
	appName := testenv.UniqueName("sgfault_")
	pool, err := db.OpenWith(ctx, dbURL, db.Options{ApplicationName: appName, MaxPoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := pgstore.New(pool)
	svc, _, err := registry.FindOrCreate(ctx, store, registry.NewService{Host: "cmp-fault", Binary: registry.BinaryCompute, Topic: "compute"}, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLogger(t)
	reg := prometheus.NewPedanticRegistry()
	hb, err := servicegroup.Join(store, svc, servicegroup.Options{
		ReportInterval: interval, InitialDelay: -1, Registerer: reg, Jitter: servicegroup.ExactInterval, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hb.Stop) // before pool.Close
	return &pgFixture{
		t: t, ctx: ctx, dbName: name, appName: appName, admin: admin,
		check: pgstore.New(pgtest.OpenPool(t, dbURL)), store: store,
		reg: reg, logs: logs, svc: svc, hb: hb, interval: interval,
	}
}

func (f *pgFixture) count(outcome string) float64 {
	f.t.Helper()
	return gatherCounter(f.t, f.reg, outcome)
}

func gatherCounter(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gonova_servicegroup_reports_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no reports_total series with outcome %q", outcome)
	return 0
}

func (f *pgFixture) reportCount(id int64) int64 {
	f.t.Helper()
	var svc registry.Service
	var err error
	eventually(f.t, 10*time.Second, "the check pool to read the row", func() bool {
		svc, err = f.check.Get(f.ctx, id)
		return err == nil
	})
	return svc.ReportCount
}

func (f *pgFixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.admin.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

// (a) The service's connections are terminated under it: the next report
// fails, the one after succeeds on a new connection.
func TestPostgresBackendsTerminated(t *testing.T) {
	f := newPGFixture(t, 100*time.Millisecond)
	eventually(t, 10*time.Second, "two successful reports", func() bool { return f.count("success") >= 2 })
	before := f.reportCount(f.svc.ID)

	// Terminate until at least one of the service's backends was hit (none
	// exists while the pool is between connections); the next report on the
	// dead connection must then fail.
	eventually(t, 10*time.Second, "pg_terminate_backend to hit a connection of the service", func() bool {
		var n int
		if err := f.admin.QueryRow(f.ctx, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", f.appName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	eventually(t, 10*time.Second, "a failed report after pg_terminate_backend", func() bool { return f.count("failure") >= 1 })
	eventually(t, 10*time.Second, "the recovery record", func() bool { return f.logs.Count("recovered") >= 1 })
	atRecovery := f.reportCount(f.svc.ID)
	eventually(t, 10*f.interval, "report_count to grow after recovery", func() bool {
		return f.reportCount(f.svc.ID) >= atRecovery+2
	})
	if f.logs.Count("lost connection") != 1 || f.logs.Count("recovered") != 1 {
		t.Errorf("lost=%d recovered=%d records, want exactly 1 each", f.logs.Count("lost connection"), f.logs.Count("recovered"))
	}
	if atRecovery <= before {
		t.Errorf("report_count %d at recovery, %d before the fault: the recovering report did not count", atRecovery, before)
	}
	if f.hb.ServiceID() != f.svc.ID {
		t.Errorf("the row was re-created (id %d -> %d) although it was never deleted", f.svc.ID, f.hb.ServiceID())
	}
}

// (b) The database refuses connections for a while: reports fail each
// interval, one "lost" record; after it accepts again, the next interval's
// report succeeds and one "recovered" record follows.
func TestPostgresRefusesConnections(t *testing.T) {
	f := newPGFixture(t, 200*time.Millisecond)
	eventually(t, 10*time.Second, "two successful reports", func() bool { return f.count("success") >= 2 })
	before := f.reportCount(f.svc.ID)

	db := pgx.Identifier{f.dbName}.Sanitize()
	f.exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false")
	f.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", f.dbName)
	eventually(t, 10*time.Second, "three failed reports while refused", func() bool { return f.count("failure") >= 3 })
	if f.logs.Count("lost connection") != 1 || f.logs.Count("recovered") != 0 {
		t.Fatalf("during the outage: lost=%d recovered=%d, want 1 and 0", f.logs.Count("lost connection"), f.logs.Count("recovered"))
	}

	successes := f.count("success")
	f.exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true")
	allowed := time.Now()
	eventually(t, 10*time.Second, "a successful report after the database accepts again", func() bool {
		return f.count("success") > successes
	})
	took := time.Since(allowed)
	t.Logf("first successful report %v after the database accepted connections again (interval %v)", took, f.interval)
	// One interval, plus slack for a loaded 2-core machine.
	if limit := f.interval + 300*time.Millisecond; took > limit {
		t.Errorf("recovery took %v, want within one interval (%v + slack)", took, f.interval)
	}
	eventually(t, 5*time.Second, "the recovery record", func() bool { return f.logs.Count("recovered") == 1 })
	if got := f.reportCount(f.svc.ID); got <= before {
		t.Errorf("report_count %d after recovery, %d before the outage", got, before)
	}
	if f.logs.Count("lost connection") != 1 || f.logs.Count("recovered") != 1 {
		t.Errorf("lost=%d recovered=%d records, want exactly 1 each", f.logs.Count("lost connection"), f.logs.Count("recovered"))
	}
}

// The row is deleted (nova-manage service delete, DELETE /os-services/{id})
// while the service runs: the next report re-creates it.
func TestPostgresDeletedRowIsRecreated(t *testing.T) {
	f := newPGFixture(t, 100*time.Millisecond)
	eventually(t, 10*time.Second, "a successful report", func() bool { return f.count("success") >= 1 })
	if err := f.check.Delete(f.ctx, f.svc.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the row to be re-created", func() bool { return f.hb.ServiceID() != f.svc.ID })
	newID := f.hb.ServiceID()
	eventually(t, 10*f.interval, "reports into the new row", func() bool { return f.reportCount(newID) >= 2 })
	list, now, err := f.check.List(f.ctx, registry.Filter{Host: "cmp-fault", IncludeDeleted: true})
	if err != nil || len(list) != 2 {
		t.Fatalf("rows of the host: %+v, %v; want the deleted and the new one", list, err)
	}
	for _, s := range list {
		up := servicegroup.IsUp(s, now, servicegroup.EffectiveServiceDownTime(0, f.interval, slog.New(slog.DiscardHandler)))
		if s.ID == newID && (!up || s.IsDeleted()) {
			t.Errorf("re-created row %+v: want live and up", s)
		}
		if s.ID == f.svc.ID && !s.IsDeleted() {
			t.Errorf("old row %+v is live again", s)
		}
	}
	if f.logs.Count("re-created it") != 1 || f.logs.Count("lost connection") != 0 {
		t.Errorf("want one re-creation record and no lost connection:\n%s", f.logs.String())
	}
}

// Liveness end to end on the database clock: a heartbeating row is up, one
// whose last heartbeat is older than service_down_time is down.
func TestPostgresIsUpOnDatabaseClock(t *testing.T) {
	f := newPGFixture(t, 100*time.Millisecond)
	stale, err := f.check.Create(f.ctx, registry.NewService{Host: "cmp-stale", Binary: registry.BinaryCompute, Topic: "compute"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a successful report", func() bool { return f.count("success") >= 1 })
	pool, err := pgxpool.New(f.ctx, mustURL(t, f.dbName))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(f.ctx, "UPDATE services SET last_seen_up = now() - interval '2 minutes' WHERE id = $1", stale.ID); err != nil {
		t.Fatal(err)
	}
	list, now, err := f.check.List(f.ctx, registry.Filter{Binary: registry.BinaryCompute})
	if err != nil || len(list) != 2 {
		t.Fatalf("List: %d rows, %v", len(list), err)
	}
	got := map[string]bool{}
	for _, s := range list {
		got[s.Host] = servicegroup.IsUp(s, now, servicegroup.DefaultServiceDownTime)
	}
	if !got["cmp-fault"] || got["cmp-stale"] {
		t.Errorf("up states %v, want cmp-fault up and cmp-stale down", got)
	}
}

func mustURL(t *testing.T, name string) string {
	t.Helper()
	u, err := pgtest.URLFor(name)
	if err != nil {
		t.Fatal(fmt.Errorf("URLFor: %w", err))
	}
	return u
}
