package computeapi

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/scheduler"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
)

// nopRPC accepts every cast: the benchmark measures the API's side of a boot.
type nopRPC struct{}

func (nopRPC) BuildAndRunInstance(context.Context, computedb.Instance) error    { return nil }
func (nopRPC) TerminateInstance(context.Context, computedb.Instance) error      { return nil }
func (nopRPC) InstanceAction(context.Context, string, computedb.Instance) error { return nil }
func (nopRPC) RebuildInstance(context.Context, computedb.Instance, string, *string) error {
	return nil
}
func (nopRPC) RebootInstance(context.Context, computedb.Instance, virt.RebootType) error {
	return nil
}
func (nopRPC) GetConsoleOutput(context.Context, computedb.Instance, *int) (string, error) {
	return "", nil
}

// BenchmarkCreate: compute.API Create on Postgres (store the row, place it,
// cast), from 8 concurrent callers, with the claims in the database (the
// scheduler's conditional writes of compute_nodes, any number of API
// processes) beside the in-process claim it replaced (legacyScheduler: one
// placement at a time under a mutex, counting every host's instances; it
// never held across processes), in the same run, on the same database: 4
// hosts with no instances, then with 50 claimed instances each (the old
// path lists them at every placement). Each create is followed by the
// delete of its instance (which releases the claim), so both paths see the
// same population. The ratio (claims in the database over in-process) is
// the price of correctness: above 1 means the new path is faster.
func BenchmarkCreate(b *testing.B) {
	for _, perHost := range []int{0, 50} {
		b.Run(fmt.Sprintf("residents_per_host=%d", perHost), func(b *testing.B) { benchmarkCreate(b, perHost) })
	}
}

func benchmarkCreate(b *testing.B, perHost int) {
	pool := pgtest.NewPool(b)
	ctx := context.Background()
	services, compute := pgstore.New(pool), computedb.NewPG(pool)
	initial := computedb.AllocationRatios{CPU: 16, RAM: 1.5, Disk: 1}
	const hosts, callers, creates = 4, 8, 200
	for i := range hosts {
		host := fmt.Sprintf("bench-%d", i)
		s, err := services.Create(ctx, registry.NewService{Host: host, Binary: registry.BinaryCompute, Topic: "compute"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := services.Report(ctx, s.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := compute.ReportNode(ctx, computedb.Node{ServiceID: s.ID, Host: host, HypervisorHostname: host,
			VCPUs: 1000, MemoryMB: 800000, LocalGB: 600000, MemoryMBReserved: 512}, initial); err != nil {
			b.Fatal(err)
		}
	}
	opts := scheduler.Options{ServiceDownTime: time.Hour, Logger: quiet}
	claims, err := New(Options{Services: services, Compute: compute, RPC: nopRPC{}, Logger: quiet,
		Scheduler: scheduler.New(services, compute, opts)})
	if err != nil {
		b.Fatal(err)
	}
	legacyOpts := opts
	legacyOpts.CPUAllocationRatio, legacyOpts.RAMAllocationRatio, legacyOpts.DiskAllocationRatio = initial.CPU, initial.RAM, initial.Disk
	legacy, err := New(Options{Services: services, Compute: compute, RPC: nopRPC{}, Logger: quiet,
		Scheduler: &legacyScheduler{services: services, compute: compute, opts: legacyOpts}})
	if err != nil {
		b.Fatal(err)
	}
	caller := Caller{UserID: "u", ProjectID: "p"}
	// Hundreds of residents in one project: no quota in the way (its check
	// still runs in every create).
	if err := compute.SetQuotas(ctx, "p", "", computedb.QuotaLimits{computedb.ResInstances: -1, computedb.ResCores: -1, computedb.ResRAM: -1}); err != nil {
		b.Fatal(err)
	}
	tiny := Flavor{ID: "1", Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1}
	for range hosts * perHost {
		if in, err := claims.Create(ctx, caller, boot("resident", tiny)); err != nil || in.Host == "" {
			b.Fatalf("populating: %+v, %v", in, err)
		}
	}
	run := func(a *API) time.Duration {
		b.Helper()
		next := make(chan int)
		var wg sync.WaitGroup
		start := time.Now()
		for range callers {
			wg.Go(func() {
				for range next {
					in, err := a.Create(ctx, caller, boot("bench", tiny))
					if err != nil || in.Host == "" {
						b.Errorf("create: %+v, %v", in, err)
						return
					}
					if err := compute.DeleteInstance(ctx, in.UUID); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		for i := range creates {
			next <- i
		}
		close(next)
		wg.Wait()
		return time.Since(start)
	}
	run(claims) // warm both
	run(legacy)
	b.ResetTimer()
	var inDB, inProcess time.Duration
	for i := 0; i < b.N; i++ {
		inDB += run(claims)
		inProcess += run(legacy)
	}
	b.StopTimer()
	n := float64(b.N * creates)
	b.ReportMetric(n/inDB.Seconds(), "creates/s")
	b.ReportMetric(n/inProcess.Seconds(), "inprocess_creates/s")
	b.ReportMetric(inProcess.Seconds()/inDB.Seconds(), "ratio_vs_inprocess")
	b.ReportMetric(0, "ns/op")
	nodes, err := compute.ListNodes(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, nd := range nodes {
		if nd.VCPUsUsed != perHost {
			b.Errorf("node %s holds %d vcpus after the run, want %d", nd.Host, nd.VCPUsUsed, perHost)
		}
	}
}
