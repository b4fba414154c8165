package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/pgstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	services registry.Store
	compute  computedb.Store
}

func stores(t *testing.T) map[string]func(t *testing.T) fixture {
	return map[string]func(t *testing.T) fixture{
		"mem": func(t *testing.T) fixture {
			return fixture{memstore.New(clocktest.New(time.Now())), computedb.NewMem()}
		},
		"pg": func(t *testing.T) fixture {
			pool := pgtest.NewPool(t)
			return fixture{pgstore.New(pool), computedb.NewPG(pool)}
		},
	}
}

func (f fixture) host(t *testing.T, host string, vcpus int, ram, disk int64) registry.Service {
	t.Helper()
	ctx := context.Background()
	s, err := f.services.Create(ctx, registry.NewService{Host: host, Binary: registry.BinaryCompute, Topic: "compute"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.services.Report(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.compute.UpsertNode(ctx, computedb.Node{Host: host, HypervisorHostname: host + "-n", VCPUs: vcpus, MemoryMB: ram, LocalGB: disk}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f fixture) pending(t *testing.T, vcpus int, ram, disk int64) computedb.Instance {
	t.Helper()
	in, err := f.compute.CreateInstance(context.Background(), computedb.Instance{ProjectID: "p", TaskState: states.TaskScheduling,
		VCPUs: vcpus, MemoryMB: ram, RootGB: disk})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestSchedule(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := mk(t)
			f.host(t, "a", 4, 4096, 100)
			f.host(t, "b", 4, 8192, 100)
			off := f.host(t, "off", 64, 1<<20, 1000)
			down := f.host(t, "forced", 64, 1<<20, 1000)
			yes := true
			if _, err := f.services.Update(ctx, off.ID, registry.Update{Disabled: &yes}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.services.Update(ctx, down.ID, registry.Update{ForcedDown: &yes}); err != nil {
				t.Fatal(err)
			}
			s := New(f.services, f.compute, Options{Logger: quiet})

			// most free RAM first: b (8 GiB), then b again (6 GiB left vs 4), ...
			var hosts []string
			for range 4 {
				in, err := s.Schedule(ctx, f.pending(t, 1, 2048, 10))
				if err != nil {
					t.Fatal(err)
				}
				if in.TaskState != states.TaskScheduling || in.Node != in.Host+"-n" {
					t.Errorf("placed %+v", in)
				}
				hosts = append(hosts, in.Host)
			}
			want := []string{"b", "b", "a", "b"} // a tie (4096 each after two on b) goes to the name first
			for i := range want {
				if hosts[i] != want[i] {
					t.Fatalf("placements %v, want %v", hosts, want)
				}
			}
			// 2 GiB left on each: a 4 GiB flavor fits nowhere
			_, err := s.Schedule(ctx, f.pending(t, 1, 4096, 10))
			var nv *NoValidHostError
			if !errors.Is(err, ErrNoValidHost) || !errors.As(err, &nv) ||
				err.Error() != "No valid host was found. There are not enough hosts available." {
				t.Fatalf("err = %v", err)
			}
			// vcpus and disk are counted too
			if _, err := s.Schedule(ctx, f.pending(t, 4, 512, 1)); !errors.Is(err, ErrNoValidHost) {
				t.Errorf("5 vcpus on a 4-vcpu host: %v", err)
			}
			if _, err := s.Schedule(ctx, f.pending(t, 1, 512, 91)); !errors.Is(err, ErrNoValidHost) {
				t.Errorf("disk: %v", err)
			}
			// overcommit by ratio
			s2 := New(f.services, f.compute, Options{RAMAllocationRatio: 2, Logger: quiet})
			if in, err := s2.Schedule(ctx, f.pending(t, 1, 4096, 10)); err != nil || in.Host != "b" {
				t.Errorf("with RAM ratio 2: %+v %v", in, err)
			}
		})
	}
}

func TestScheduleDownHostAndConcurrency(t *testing.T) {
	ctx := context.Background()
	clk := clocktest.New(time.Now())
	f := fixture{memstore.New(clk), computedb.NewMem()}
	f.host(t, "a", 8, 8192, 100)
	s := New(f.services, f.compute, Options{ServiceDownTime: time.Minute, Logger: quiet})
	clk.Advance(2 * time.Minute)
	if _, err := s.Schedule(ctx, f.pending(t, 1, 512, 1)); !errors.Is(err, ErrNoValidHost) {
		t.Fatalf("a down host was chosen: %v", err)
	}
	svc, _ := f.services.GetByHostBinary(ctx, "a", registry.BinaryCompute)
	if _, err := f.services.Report(ctx, svc.ID); err != nil {
		t.Fatal(err)
	}
	// 16 concurrent boots of 1 GiB on 8 GiB: exactly 8 fit.
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed, refused := 0, 0
	for range 16 {
		in := f.pending(t, 0, 1024, 0)
		wg.Go(func() {
			_, err := s.Schedule(ctx, in)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				placed++
			case errors.Is(err, ErrNoValidHost):
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if placed != 8 || refused != 8 {
		t.Fatalf("placed %d refused %d, want 8/8", placed, refused)
	}
	// an instance whose task state moved on (deleted, or placed by someone else) is not overwritten
	in := f.pending(t, 0, 0, 0)
	none := states.TaskNone
	if _, err := f.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{TaskState: &none}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(ctx, in); !errors.Is(err, computedb.ErrConflict) {
		t.Errorf("stale schedule: %v", err)
	}
}

// Schedulers of separate API processes share nothing but the database: 100
// boots split over 4 schedulers on two 4-vcpu hosts place exactly 8, the
// rest are NoValidHost, and no node ever holds more than it has.
func TestSchedulersInSeveralProcessesNeverOvercommit(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	f := fixture{pgstore.New(pool), computedb.NewPG(pool)}
	f.host(t, "a", 4, 1<<20, 1000)
	f.host(t, "b", 4, 1<<20, 1000)
	var scheds []*Scheduler
	for range 4 {
		// Each its own stores on its own pool, as separate processes.
		p := pgtest.OpenPool(t, pool.Config().ConnString())
		scheds = append(scheds, New(pgstore.New(p), computedb.NewPG(p), Options{Logger: quiet}))
	}
	var placed, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		in := f.pending(t, 1, 512, 1)
		wg.Go(func() {
			_, err := scheds[i%len(scheds)].Schedule(ctx, in)
			switch {
			case err == nil:
				placed.Add(1)
			case errors.Is(err, ErrNoValidHost):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if placed.Load() != 8 || refused.Load() != 92 {
		t.Fatalf("placed %d refused %d, want 8/92", placed.Load(), refused.Load())
	}
	nodes, err := f.compute.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.VCPUsUsed != 4 {
			t.Errorf("node %s: %d vcpus used", n.Host, n.VCPUsUsed)
		}
		if c, _ := f.compute.CountInstancesByHost(ctx, n.Host); c != 4 {
			t.Errorf("%d instances placed on %s", c, n.Host)
		}
	}
}
