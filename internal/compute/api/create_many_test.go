package computeapi

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry/pgstore"
)

var reservationPattern = regexp.MustCompile(`^r-[0-9a-z]{8}$`)

// used sums what the nodes hold.
func used(t *testing.T, s computedb.Store) (vcpus int, ram int64) {
	t.Helper()
	nodes, err := s.ListNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		vcpus += n.VCPUsUsed
		ram += n.MemoryMBUsed
	}
	return vcpus, ram
}

func TestCreateServersPlacesAndCastsEach(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		e.addNode("c1", 8, 4096, 100)
		e.addNode("c2", 8, 4096, 100)
		res, err := a.CreateServers(ctx, alice, CreateRequest{Name: "web", Flavor: small, ImageRef: imageID, MinCount: 2, MaxCount: 3,
			Metadata: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if !reservationPattern.MatchString(res.ReservationID) || len(res.Instances) != 3 {
			t.Fatalf("result %+v", res)
		}
		hosts := map[string]int{}
		calls := rec.Calls()
		if len(calls) != 3 {
			t.Fatalf("casts %+v", calls)
		}
		for i, in := range res.Instances {
			stored, err := e.compute.GetInstance(ctx, in.UUID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.DisplayName != fmt.Sprintf("web-%d", i+1) || stored.ReservationID != res.ReservationID || stored.LaunchIndex != i ||
				stored.Host == "" || stored.VMState != states.VMBuilding || stored.Metadata["k"] != "v" || stored.ProjectID != "proj-a" {
				t.Errorf("instance %d: %+v", i, stored)
			}
			if calls[i].Method != rpcapi.MethodBuildAndRunInstance || calls[i].UUID != in.UUID || calls[i].Host != stored.Host {
				t.Errorf("cast %d: %+v for %s on %s", i, calls[i], in.UUID, stored.Host)
			}
			hosts[stored.Host]++
		}
		// RAMWeigher: the second instance goes where the first did not.
		if hosts["c1"] == 0 || hosts["c2"] == 0 {
			t.Errorf("placements %v", hosts)
		}
		if v, ram := used(t, e.compute); v != 3 || ram != 3*2048 {
			t.Errorf("nodes hold %d vcpus %d MB, want 3 and %d", v, ram, 3*2048)
		}
		// One instance keeps its name, and gets a reservation of its own.
		one, err := a.CreateServers(ctx, alice, CreateRequest{Name: "solo", Flavor: tiny, ImageRef: imageID})
		if err != nil || len(one.Instances) != 1 || one.Instances[0].DisplayName != "solo" || one.Instances[0].LaunchIndex != 0 ||
			one.Instances[0].ReservationID != one.ReservationID || one.ReservationID == res.ReservationID {
			t.Fatalf("single create %+v %v", one, err)
		}
	})
}

// nova schedules max_count instances and wants a host for each: fewer is
// NoValidHost for all of them, whatever min_count says, and nothing is kept.
func TestCreateServersIsAllOrNothing(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		e.addNode("c1", 8, 4096, 100)            // room for two of small
		liftQuota(t, e.compute, alice.ProjectID) // the ERROR instances count, as nova's
		for _, r := range []struct{ min, max int }{{1, 3}, {3, 3}, {2, 5}} {
			res, err := a.CreateServers(ctx, alice, CreateRequest{Name: "big", Flavor: small, ImageRef: imageID, MinCount: r.min, MaxCount: r.max})
			if err != nil {
				t.Fatalf("%d..%d: NoValidHost is not an error of the request: %v", r.min, r.max, err)
			}
			if len(res.Instances) != r.max {
				t.Fatalf("%d..%d: %d instances", r.min, r.max, len(res.Instances))
			}
			for i, in := range res.Instances {
				got, err := e.compute.GetInstance(ctx, in.UUID)
				if err != nil {
					t.Fatal(err)
				}
				if got.VMState != states.VMError || got.TaskState != states.TaskNone || got.Fault == nil ||
					got.Fault.Message != "No valid host was found. There are not enough hosts available." || got.LaunchIndex != i {
					t.Errorf("%d..%d: instance %d %+v fault %+v", r.min, r.max, i, got, got.Fault)
				}
				if in.VMState != states.VMError {
					t.Errorf("returned %+v, not as left", in)
				}
			}
			if v, ram := used(t, e.compute); v != 0 || ram != 0 {
				t.Fatalf("%d..%d: the failed request kept claims: %d vcpus %d MB", r.min, r.max, v, ram)
			}
		}
		if len(rec.Calls()) != 0 {
			t.Errorf("casts of a failed request: %+v", rec.Calls())
		}
		// The room was given back: two fit now.
		res, err := a.CreateServers(ctx, alice, CreateRequest{Name: "fit", Flavor: small, ImageRef: imageID, MinCount: 2})
		if err != nil || len(res.Instances) != 2 || res.Instances[0].Host != "c1" || res.Instances[1].Host != "c1" {
			t.Fatalf("two that fit: %+v %v", res, err)
		}
	})
}

func TestCreateServersRefusals(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(&recorder{})
		e.addNode("c1", 64, 1<<20, 1000)
		if _, err := a.CreateServers(ctx, alice, CreateRequest{Name: "x", Flavor: tiny, ImageRef: imageID, MinCount: 3, MaxCount: 2}); !errors.Is(err, ErrInvalidCount) {
			t.Errorf("min 3 max 2: %v", err)
		}
		// name-1 .. name-9 fit in 255 characters, name-10 does not: the
		// request is refused and the nine rows made before are removed.
		_, err := a.CreateServers(ctx, alice, CreateRequest{Name: strings.Repeat("n", 253), Flavor: tiny, ImageRef: imageID, MaxCount: 10})
		if !errors.Is(err, computedb.ErrInvalid) {
			t.Fatalf("too long a name: %v", err)
		}
		left, err := a.List(ctx, alice, ListRequest{})
		if err != nil || len(left) != 0 {
			t.Fatalf("a refused request left %d rows: %v", len(left), err)
		}
	})
}

// Requests in separate API processes share only the database: each either
// places all its instances or none, and no node holds more than it has.
func TestCreateServersInSeveralProcesses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, pgBackend)
	e.addNode("c1", 64, 8192, 1000) // eight of tiny-ish 1 GiB
	e.addNode("c2", 64, 8192, 1000)
	gib := Flavor{ID: "g", Name: "g", VCPUs: 1, MemoryMB: 1024}
	liftQuota(t, e.compute, alice.ProjectID) // 36 instances asked for; the quota is not what this tests
	var apis []*API
	for range 4 {
		p := pgtest.OpenPool(t, e.pool.Config().ConnString())
		a, err := New(Options{Services: pgstore.New(p), Compute: computedb.NewPG(p), RPC: &recorder{}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		apis = append(apis, a)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		placed int
	)
	for i := range 12 {
		wg.Go(func() {
			res, err := apis[i%len(apis)].CreateServers(ctx, alice, CreateRequest{Name: "p", Flavor: gib, ImageRef: imageID, MaxCount: 3})
			if err != nil {
				t.Error(err)
				return
			}
			n := 0
			for _, in := range res.Instances {
				if in.Host != "" && in.VMState == states.VMBuilding {
					n++
				}
			}
			if n != 0 && n != 3 {
				t.Errorf("a request placed %d of its 3 instances", n)
			}
			mu.Lock()
			placed += n
			mu.Unlock()
		})
	}
	wg.Wait()
	_, ram := used(t, e.compute)
	if placed == 0 || placed > 16 || ram != int64(placed)*1024 {
		t.Fatalf("placed %d instances, nodes hold %d MB", placed, ram)
	}
	all, err := e.compute.ListInstances(ctx, computedb.InstanceFilter{})
	if err != nil || len(all) != 36 {
		t.Fatalf("%d rows: %v", len(all), err)
	}
	for _, in := range all {
		if in.VMState == states.VMError && in.Host != "" {
			t.Errorf("an instance in ERROR kept its host: %+v", in)
		}
	}
}

// Three instances of one request reach ACTIVE on a real compute manager.
func TestCreateServersBuildOnARealCompute(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(e.startCompute("c1"))
		res, err := a.CreateServers(ctx, alice, CreateRequest{Name: "rc", Flavor: tiny, ImageRef: imageID, MinCount: 3, MaxCount: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range res.Instances {
			eventually(t, in.DisplayName+" active", func() (bool, string) {
				got, err := e.compute.GetInstance(ctx, in.UUID)
				if err != nil {
					return false, err.Error()
				}
				return got.VMState == states.VMActive && got.TaskState == states.TaskNone && got.ReservationID == res.ReservationID,
					string(got.VMState) + "/" + string(got.TaskState)
			})
		}
	})
}

// liftQuota makes project's instances, cores and ram unlimited.
func liftQuota(t *testing.T, s computedb.Store, project string) {
	t.Helper()
	if err := s.SetQuotas(context.Background(), project, "", computedb.QuotaLimits{computedb.ResInstances: -1, computedb.ResCores: -1, computedb.ResRAM: -1}); err != nil {
		t.Fatal(err)
	}
}
