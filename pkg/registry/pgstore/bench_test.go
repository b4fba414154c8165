package pgstore_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// benchPool creates a database with n service rows (one INSERT ... SELECT, a
// fraction of a second even for 10,000) and a pool of poolSize connections.
func benchPool(b *testing.B, n, poolSize int) *pgxpool.Pool {
	b.Helper()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(b)
	pool, err := db.OpenWith(ctx, dbURL, db.Options{MaxPoolSize: poolSize})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	// Every fourth row has a fresh heartbeat, every fourth is stale, the rest
	// never reported; one in ten is forced down: IsUp takes every branch.
	if _, err := pool.Exec(ctx, `INSERT INTO services (uuid, host, "binary", topic, report_count, last_seen_up, forced_down, created_at)
		SELECT gen_random_uuid(), 'host-' || i, 'nova-compute', 'compute', i % 7,
			CASE i % 4 WHEN 0 THEN now() WHEN 1 THEN now() - interval '5 minutes' ELSE NULL END,
			i % 10 = 0, now() - interval '1 minute' * (i % 3)
		FROM generate_series(1, $1) AS i`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE services"); err != nil {
		b.Fatal(err)
	}
	return pool
}

// BenchmarkHeartbeatReports measures how many heartbeat reports per second one
// Postgres absorbs from 5,000 services in one process: 5,000 rows, 5,000
// goroutines (one per simulated service) issuing reports concurrently through
// one pool. The baseline is a bare pgx "UPDATE ... SET report_count =
// report_count + 1" by id under the same load, in the same run, so the
// figure to read is pgstore's reports/s relative to it.
func BenchmarkHeartbeatReports(b *testing.B) {
	const services = 5000
	const poolSize = 16
	pool := benchPool(b, services, poolSize)
	store := pgstore.New(pool)
	ctx := context.Background()

	run := func(b *testing.B, report func(id int64) error) {
		var next atomic.Int64
		// services goroutines in total, whatever GOMAXPROCS is.
		b.SetParallelism(max(1, services/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			id := next.Add(1)%services + 1 // this goroutine's service row
			for pb.Next() {
				if err := report(id); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reports/s")
	}
	b.Run("baseline_bare_update", func(b *testing.B) {
		run(b, func(id int64) error {
			_, err := pool.Exec(ctx, `UPDATE services SET report_count = report_count + 1 WHERE id = $1`, id)
			return err
		})
	})
	b.Run("pgstore_report", func(b *testing.B) {
		run(b, func(id int64) error {
			_, err := store.Report(ctx, id)
			return err
		})
	})
}

// BenchmarkListUpDown measures listing 10,000 service rows and computing each
// one's up/down state on the database clock, as GET /os-services does. The
// baseline is a bare pgx "SELECT * FROM services" scanned into values, in the
// same run.
func BenchmarkListUpDown(b *testing.B) {
	const rows = 10000
	pool := benchPool(b, rows, 4)
	store := pgstore.New(pool)
	ctx := context.Background()
	downTime := servicegroup.DefaultServiceDownTime

	b.Run("baseline_bare_select", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := pool.Query(ctx, `SELECT * FROM services`)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for r.Next() {
				if _, err := r.Values(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if r.Err() != nil || n != rows {
				b.Fatalf("scanned %d rows: %v", n, r.Err())
			}
		}
	})
	b.Run("pgstore_list_isup", func(b *testing.B) {
		b.ReportAllocs()
		up := 0
		for b.Loop() {
			list, now, err := store.List(ctx, registry.Filter{})
			if err != nil || len(list) != rows {
				b.Fatalf("listed %d rows: %v", len(list), err)
			}
			up = 0
			for _, s := range list {
				if servicegroup.IsUp(s, now, downTime) {
					up++
				}
			}
		}
		if up == 0 || up == rows {
			b.Fatalf("%d of %d up: the data should mix up and down", up, rows)
		}
	})
}
