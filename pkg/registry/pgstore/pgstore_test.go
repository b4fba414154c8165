package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/registry/registrytest"
)

func TestContract(t *testing.T) {
	registrytest.RunContract(t, func(t *testing.T) registry.Store { return pgstore.New(pgtest.NewPool(t)) })
}

// Twenty separate pools (as twenty worker processes would have) create the
// same (host, binary) at once: exactly one row results, nobody sees an error,
// and everybody gets that row.
func TestFindOrCreateRaceAcrossPools(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	const workers = 20
	stores := make([]*pgstore.Store, workers)
	for i := range stores {
		stores[i] = pgstore.New(pgtest.OpenPool(t, dbURL))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for round := range 5 { // several rounds: one rarely hits the window
		host := "race-" + string(rune('a'+round))
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ids     = map[int64]int{}
			created int
			errs    []error
		)
		start := make(chan struct{})
		for _, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				svc, c, err := registry.FindOrCreate(ctx, s,
					registry.NewService{Host: host, Binary: "nova-compute", Topic: "compute"}, registry.CreateOptions{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				ids[svc.ID]++
				if c {
					created++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) != 0 || len(ids) != 1 || created != 1 {
			t.Fatalf("round %d: errors %v, ids %v, created %d; want one row created once", round, errs, ids, created)
		}
		list, _, err := stores[0].List(ctx, registry.Filter{Host: host, IncludeDeleted: true})
		if err != nil || len(list) != 1 {
			t.Fatalf("round %d: %d rows, %v; want exactly one", round, len(list), err)
		}
	}
}

// Create's duplicate mapping relies on the constraint names of the migration.
func TestDuplicateNamesTheConstraint(t *testing.T) {
	s := pgstore.New(pgtest.NewPool(t))
	ctx := context.Background()
	if _, err := s.Create(ctx, registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(ctx, registry.NewService{Host: "h", Binary: "nova-x", Topic: "compute"})
	var dup *registry.DuplicateError
	if !errors.As(err, &dup) || dup.Key != "host+topic" || dup.Topic != "compute" {
		t.Fatalf("Create = %v, want a host+topic DuplicateError", err)
	}
}

// The database clock stamps heartbeats, and it is the server's clock, not
// this process's: compare with the server's own now().
func TestReportUsesDatabaseClock(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := pgstore.New(pool)
	ctx := context.Background()
	svc, err := s.Create(ctx, registry.NewService{Host: "h", Binary: "nova-compute"})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := s.Report(ctx, svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored time.Time
	if err := pool.QueryRow(ctx, "SELECT last_seen_up FROM services WHERE id = $1", svc.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(hb.LastSeenUp) || hb.LastSeenUp.Location() != time.UTC {
		t.Errorf("Report returned %v, the row holds %v", hb.LastSeenUp, stored)
	}
}
