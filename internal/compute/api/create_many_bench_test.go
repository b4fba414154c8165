package computeapi

import (
	"context"
	"fmt"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
)

// BenchmarkCreateServers: ten instances booted by one CreateServers request
// (max_count 10) beside ten single-instance requests, on Postgres, in the
// same run, over 4 hosts; the instances are deleted after each round, off
// the clock, so every round sees the same population. ns/op is per ten
// instances.
func BenchmarkCreateServers(b *testing.B) {
	pool := pgtest.NewPool(b)
	ctx := context.Background()
	services, compute := pgstore.New(pool), computedb.NewPG(pool)
	for i := range 4 {
		host := fmt.Sprintf("bench-%d", i)
		s, err := services.Create(ctx, registry.NewService{Host: host, Binary: registry.BinaryCompute, Topic: "compute"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := services.Report(ctx, s.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := compute.UpsertNode(ctx, computedb.Node{Host: host, HypervisorHostname: host, VCPUs: 64, MemoryMB: 65536, LocalGB: 1000}); err != nil {
			b.Fatal(err)
		}
	}
	a, err := New(Options{Services: services, Compute: compute, RPC: nopRPC{}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	for _, perRequest := range []int{10, 1} {
		b.Run(fmt.Sprintf("instances_per_request=%d", perRequest), func(b *testing.B) {
			req := CreateRequest{Name: "bench", Flavor: tiny, ImageRef: imageID, MaxCount: perRequest}
			for b.Loop() {
				var made []computedb.Instance
				for range 10 / perRequest {
					res, err := a.CreateServers(ctx, alice, req)
					if err != nil {
						b.Fatal(err)
					}
					made = append(made, res.Instances...)
				}
				b.StopTimer()
				for _, in := range made {
					if in.Host == "" {
						b.Fatalf("not placed: %+v", in)
					}
					if err := compute.DeleteInstance(ctx, in.UUID); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
		})
	}
}
