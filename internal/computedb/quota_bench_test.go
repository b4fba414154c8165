package computedb

import (
	"context"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/pkg/pgtest"
)

// BenchmarkPGCreateInstanceQuota is the price of the atomic quota check on
// Postgres: CreateInstanceInQuota (a transaction: the project's advisory
// lock, its quota rows, the count of its live instances, the insert) beside
// the bare CreateInstance, in the same run on the same database, with 50
// live instances in the project. Each create is followed by its delete so
// the count stays the same.
func BenchmarkPGCreateInstanceQuota(b *testing.B) {
	ctx := context.Background()
	s := NewPG(pgtest.NewPool(b))
	if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: -1, ResCores: -1, ResRAM: -1}); err != nil {
		b.Fatal(err)
	}
	in := Instance{ProjectID: "p", UserID: "u", TaskState: states.TaskScheduling, VCPUs: 1, MemoryMB: 512, RootGB: 1, FlavorID: "1"}
	for range 50 {
		if _, err := s.CreateInstance(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		create func() (Instance, error)
	}{
		{"bare", func() (Instance, error) { return s.CreateInstance(ctx, in) }},
		{"in_quota", func() (Instance, error) {
			return s.CreateInstanceInQuota(ctx, in, InstanceQuota{Defaults: novaDefaults})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				out, err := c.create()
				if err != nil {
					b.Fatal(err)
				}
				if err := s.DeleteInstance(ctx, out.UUID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
