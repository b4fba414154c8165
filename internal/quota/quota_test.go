package quota

import (
	"context"
	"errors"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/pgtest"
)

func stores(t *testing.T) map[string]computedb.Store {
	return map[string]computedb.Store{"mem": computedb.NewMem(), "pg": computedb.NewPG(pgtest.NewPool(t))}
}

func TestDefaultsAreNovas(t *testing.T) {
	d := NovaDefaults()
	want := computedb.QuotaLimits{"instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "injected_files": 5,
		"injected_file_content_bytes": 10240, "injected_file_path_bytes": 255, "key_pairs": 100, "server_groups": 10,
		"server_group_members": 10, "fixed_ips": -1, "floating_ips": -1, "security_groups": -1, "security_group_rules": -1}
	if len(d) != len(want) {
		t.Fatalf("defaults %v", d)
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %d, want %d", k, d[k], v)
		}
	}
	o := config.Defaults().Quota
	o.Instances = 3
	if New(computedb.NewMem(), FromConfig(o)).Defaults()["instances"] != 3 {
		t.Error("[quota] instances not taken")
	}
}

func TestLimitSettableAndResize(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			q := New(s, nil)
			if l, err := q.Limit(ctx, "p", "u", computedb.ResMetadataItems); err != nil || l != 128 {
				t.Fatalf("Limit(metadata_items) = %d, %v", l, err)
			}
			if _, err := q.Limit(ctx, "p", "u", "bogus"); err == nil {
				t.Fatal("unknown resource accepted")
			}
			for i := 0; i < 3; i++ {
				if _, err := s.CreateInstanceInQuota(ctx, computedb.Instance{ProjectID: "p", UserID: "u", VCPUs: 2, MemoryMB: 1024},
					computedb.InstanceQuota{Defaults: q.Defaults()}); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Set(ctx, "p", "u", computedb.QuotaLimits{computedb.ResCores: 8}); err != nil {
				t.Fatal(err)
			}
			if err := q.Set(ctx, "p", "v", computedb.QuotaLimits{computedb.ResCores: 4}); err != nil {
				t.Fatal(err)
			}
			rng, err := q.Settable(ctx, "p", "")
			if err != nil {
				t.Fatal(err)
			}
			// The project: at least its users' limits (12) and its usage (6 cores).
			if rng[computedb.ResCores] != (Range{Minimum: 12, Maximum: -1}) || rng[computedb.ResInstances] != (Range{Minimum: 3, Maximum: -1}) {
				t.Errorf("project settable %+v %+v", rng[computedb.ResCores], rng[computedb.ResInstances])
			}
			// A user: its usage up to what the project (20) leaves over its users (12) plus its own (8).
			rng, _ = q.Settable(ctx, "p", "u")
			if rng[computedb.ResCores] != (Range{Minimum: 6, Maximum: 16}) {
				t.Errorf("user settable %+v", rng[computedb.ResCores])
			}
			det, _ := q.Details(ctx, "p", "u")
			if det[computedb.ResCores] != (Detail{Limit: 8, InUse: 6}) || det[computedb.ResKeyPairs] != (Detail{Limit: 100}) {
				t.Errorf("details %+v", det)
			}

			in := computedb.Instance{ProjectID: "p", UserID: "u", VCPUs: 2, MemoryMB: 1024}
			if err := q.CheckResize(ctx, in, 4, 1024); err != nil {
				t.Fatalf("resize within u's 8 cores: %v", err)
			}
			err = q.CheckResize(ctx, in, 5, 1024)
			var over *computedb.OverQuotaError
			if !errors.As(err, &over) || err.Error() != "Quota exceeded for cores: Requested 3, but already used 6 of 8 cores" {
				t.Fatalf("resize over u's cores: %v", err)
			}
			if err := q.CheckResize(ctx, in, 1, 512); err != nil {
				t.Fatalf("a downsize is never over: %v", err)
			}
			if err := q.Delete(ctx, "p", ""); err != nil {
				t.Fatal(err)
			}
			if l, _ := q.Limit(ctx, "p", "u", computedb.ResCores); l != 20 {
				t.Fatalf("after Delete: %d", l)
			}
		})
	}
}

// InstancesWithin: max_count when the quota has room, the headroom down to
// min_count, and nova's 403 below min_count.
func TestInstancesWithin(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			q := New(s, nil)
			if err := s.SetQuotas(ctx, "p", "", computedb.QuotaLimits{computedb.ResInstances: 5}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := s.CreateInstance(ctx, computedb.Instance{ProjectID: "p", UserID: "u", FlavorID: "1", VCPUs: 1, MemoryMB: 512}); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct{ min, max, want int }{{1, 1, 1}, {1, 2, 2}, {1, 10, 3}, {3, 10, 3}} {
				if n, err := q.InstancesWithin(ctx, "p", "u", 1, 512, c.min, c.max); err != nil || n != c.want {
					t.Errorf("%d..%d: %d, %v; want %d", c.min, c.max, n, err, c.want)
				}
			}
			_, err := q.InstancesWithin(ctx, "p", "u", 1, 512, 4, 10)
			if err == nil || err.Error() != "Quota exceeded for instances: Requested 4, but already used 2 of 5 instances" {
				t.Errorf("4..10: %v", err)
			}
		})
	}
}
