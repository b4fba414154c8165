package computedb

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/pkg/pgtest"
)

// novaDefaults are nova's [quota] defaults.
var novaDefaults = QuotaLimits{ResInstances: 10, ResCores: 20, ResRAM: 51200, ResMetadataItems: 128,
	ResInjectedFiles: 5, ResInjectedFileContentBytes: 10240, ResInjectedFilePathBytes: 255,
	ResKeyPairs: 100, ResServerGroups: 10, ResServerGroupMembers: 10}

func quotaInstance(project, user string, vcpus int, mem int64) Instance {
	return Instance{ProjectID: project, UserID: user, TaskState: states.TaskScheduling, VCPUs: vcpus, MemoryMB: mem, RootGB: 1}
}

func wantOverQuota(t *testing.T, err error, msg string) {
	t.Helper()
	var over *OverQuotaError
	if !errors.As(err, &over) || !errors.Is(err, ErrOverQuota) {
		t.Fatalf("err = %v, want an *OverQuotaError", err)
	}
	if msg != "" && over.Error() != msg {
		t.Fatalf("message %q\n want %q", over.Error(), msg)
	}
}

func runQuotaContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("QuotaRowsSetListDelete", func(t *testing.T) {
		s := newStore(t)
		if rows, err := s.ListQuotas(ctx, "p"); err != nil || len(rows) != 0 {
			t.Fatalf("ListQuotas(new) = %v, %v", rows, err)
		}
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: 3, ResCores: -1}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetQuotas(ctx, "p", "u1", QuotaLimits{ResInstances: 2}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: 4}); err != nil { // update
			t.Fatal(err)
		}
		if err := s.SetQuotas(ctx, "other", "", QuotaLimits{ResRAM: 1}); err != nil {
			t.Fatal(err)
		}
		rows, err := s.ListQuotas(ctx, "p")
		want := []QuotaRow{{"p", "", ResCores, -1}, {"p", "", ResInstances, 4}, {"p", "u1", ResInstances, 2}}
		if err != nil || len(rows) != len(want) {
			t.Fatalf("ListQuotas = %+v, %v; want %+v", rows, err, want)
		}
		for i := range want {
			if rows[i] != want[i] {
				t.Fatalf("ListQuotas = %+v; want %+v", rows, want)
			}
		}
		lim := EffectiveLimits(rows, "u1", novaDefaults)
		if lim[ResInstances] != 2 || lim[ResCores] != -1 || lim[ResRAM] != 51200 || lim[ResFixedIPs] != -1 {
			t.Fatalf("EffectiveLimits(u1) = %v", lim)
		}
		if lim := EffectiveLimits(rows, "", novaDefaults); lim[ResInstances] != 4 {
			t.Fatalf("EffectiveLimits(project) = %v", lim)
		}
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{"bogus": 1}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown resource: %v", err)
		}
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: -2}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("limit -2: %v", err)
		}
		if err := s.DeleteQuotas(ctx, "p", "u1"); err != nil {
			t.Fatal(err)
		}
		if rows, _ := s.ListQuotas(ctx, "p"); len(rows) != 2 {
			t.Fatalf("after deleting u1's: %+v", rows)
		}
		if err := s.SetQuotas(ctx, "p", "u2", QuotaLimits{ResCores: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteQuotas(ctx, "p", ""); err != nil {
			t.Fatal(err)
		}
		if rows, _ := s.ListQuotas(ctx, "p"); len(rows) != 0 {
			t.Fatalf("after deleting the project's: %+v", rows)
		}
		if rows, _ := s.ListQuotas(ctx, "other"); len(rows) != 1 {
			t.Fatalf("another project's rows went too: %+v", rows)
		}
	})

	t.Run("QuotaClassesAndTheDefaultClass", func(t *testing.T) {
		s := newStore(t)
		if c, err := s.ListQuotaClass(ctx, "default"); err != nil || len(c) != 0 {
			t.Fatalf("ListQuotaClass(new) = %v, %v", c, err)
		}
		if err := s.SetQuotaClass(ctx, "gold", QuotaLimits{ResCores: 40}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetQuotaClass(ctx, "gold", QuotaLimits{ResRAM: 1}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.ListQuotaClass(ctx, "gold"); len(c) != 2 || c[ResCores] != 40 || c[ResRAM] != 1 {
			t.Fatalf("gold = %v", c)
		}
		if err := s.SetQuotaClass(ctx, "gold", QuotaLimits{"bogus": 1}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown resource: %v", err)
		}
		// The class "default" replaces the defaults a check is given, read
		// in the check's transaction.
		if err := s.SetQuotaClass(ctx, DefaultQuotaClass, QuotaLimits{ResInstances: 1, ResServerGroups: 0}); err != nil {
			t.Fatal(err)
		}
		q := InstanceQuota{Defaults: novaDefaults}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q)
		wantOverQuota(t, err, "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")
		_, err = s.CreateServerGroup(ctx, ServerGroup{Name: "g", ProjectID: "p", UserID: "u", Policy: PolicyAffinity}, novaDefaults)
		wantOverQuota(t, err, "Quota exceeded, too many server groups.")
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q); err != nil {
			t.Fatalf("the project's own limit is over the class's: %v", err)
		}
	})

	t.Run("InstanceQuotaCountsLiveInstances", func(t *testing.T) {
		s := newStore(t)
		q := InstanceQuota{Defaults: novaDefaults}
		var first Instance
		for i := 0; i < 10; i++ {
			in, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 512), q)
			if err != nil {
				t.Fatalf("instance %d: %v", i+1, err)
			}
			if i == 0 {
				first = in
			}
		}
		_, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 512), q)
		wantOverQuota(t, err, "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances")
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p2", "u", 1, 512), q); err != nil {
			t.Fatalf("another project is not limited by p's instances: %v", err)
		}
		u, err := s.CountUsage(ctx, "p", "")
		if err != nil || u != (Usage{Instances: 10, Cores: 10, RAM: 5120}) {
			t.Fatalf("CountUsage = %+v, %v", u, err)
		}
		if err := s.DeleteInstance(ctx, first.UUID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 512), q); err != nil {
			t.Fatalf("a deleted instance still counts: %v", err)
		}
	})

	t.Run("InstanceQuotaNamesEveryResourceOver", func(t *testing.T) {
		s := newStore(t)
		q := InstanceQuota{Defaults: novaDefaults}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 16, 50000), q); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 8, 2048), q)
		wantOverQuota(t, err, "Quota exceeded for cores, ram: Requested 8, 2048, but already used 16, 50000 of 20, 51200 cores, ram")
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResCores: -1, ResRAM: -1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 8, 2048), q); err != nil {
			t.Fatalf("unlimited (-1) cores and ram refused: %v", err)
		}
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: 0}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q)
		wantOverQuota(t, err, "Quota exceeded for instances: Requested 1, but already used 2 of 0 instances")
	})

	t.Run("InstanceQuotaOfAUser", func(t *testing.T) {
		s := newStore(t)
		q := InstanceQuota{Defaults: novaDefaults}
		if err := s.SetQuotas(ctx, "p", "u1", QuotaLimits{ResInstances: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u1", 1, 1), q); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u1", 1, 1), q)
		wantOverQuota(t, err, "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u2", 1, 1), q); err != nil {
			t.Fatalf("u2 has no limit of its own: %v", err)
		}
	})

	t.Run("ConcurrentCreatesNeverPassTheQuota", func(t *testing.T) {
		s := newStore(t)
		raceQuota(t, []Store{s}, 40)
	})

	t.Run("ServerGroupsCRUDAndQuota", func(t *testing.T) {
		s := newStore(t)
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResServerGroups: 2}); err != nil {
			t.Fatal(err)
		}
		g1, err := s.CreateServerGroup(ctx, ServerGroup{Name: "a", ProjectID: "p", UserID: "u", Policy: PolicyAntiAffinity, MaxServerPerHost: 2}, novaDefaults)
		if err != nil || g1.UUID == "" || g1.MaxServerPerHost != 2 || len(g1.Members) != 0 || g1.Members == nil {
			t.Fatalf("CreateServerGroup = %+v, %v", g1, err)
		}
		if _, err := s.CreateServerGroup(ctx, ServerGroup{Name: "b", ProjectID: "p", UserID: "u", Policy: PolicyAffinity}, novaDefaults); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateServerGroup(ctx, ServerGroup{Name: "c", ProjectID: "p", UserID: "u", Policy: PolicyAffinity}, novaDefaults)
		wantOverQuota(t, err, "Quota exceeded, too many server groups.")
		if _, err := s.CreateServerGroup(ctx, ServerGroup{Name: "x", ProjectID: "q", UserID: "u", Policy: "bogus"}, nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad policy: %v", err)
		}
		if _, err := s.CreateServerGroup(ctx, ServerGroup{Name: "d", ProjectID: "q", UserID: "v", Policy: PolicySoftAffinity}, nil); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListServerGroups(ctx, "")
		if err != nil || len(all) != 3 || all[0].UUID != g1.UUID {
			t.Fatalf("ListServerGroups(all) = %+v, %v", all, err)
		}
		mine, _ := s.ListServerGroups(ctx, "p")
		if len(mine) != 2 {
			t.Fatalf("ListServerGroups(p) = %+v", mine)
		}
		if u, _ := s.CountUsage(ctx, "p", ""); u.ServerGroups != 2 {
			t.Fatalf("CountUsage server groups = %+v", u)
		}

		// Members: added at create, within the members quota, shown while live.
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResServerGroupMembers: 2}); err != nil {
			t.Fatal(err)
		}
		q := InstanceQuota{Defaults: novaDefaults, Group: g1.UUID}
		m1, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), q)
		wantOverQuota(t, err, "Quota exceeded, too many servers in group")
		if u, _ := s.CountUsage(ctx, "p", ""); u.Instances != 2 {
			t.Fatalf("a refused member was created: %+v", u)
		}
		got, err := s.GetServerGroup(ctx, g1.UUID)
		if err != nil || len(got.Members) != 2 || got.Members[0] != m1.UUID {
			t.Fatalf("GetServerGroup = %+v, %v", got, err)
		}
		of, err := s.ServerGroupOfInstance(ctx, m1.UUID)
		if err != nil || of.UUID != g1.UUID {
			t.Fatalf("ServerGroupOfInstance = %+v, %v", of, err)
		}
		if err := s.DeleteInstance(ctx, m1.UUID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetServerGroup(ctx, g1.UUID); len(got.Members) != 1 {
			t.Fatalf("a deleted member is still shown: %+v", got)
		}
		if _, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), InstanceQuota{Defaults: novaDefaults,
			Group: "8a5c5a3c-7a93-4e6b-9a0a-3f0e6c1f2b11"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown group: %v", err)
		}
		if err := s.DeleteServerGroup(ctx, g1.UUID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetServerGroup(ctx, g1.UUID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted group: %v", err)
		}
		if err := s.DeleteServerGroup(ctx, g1.UUID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted twice: %v", err)
		}
		if _, err := s.GetServerGroup(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetServerGroup(nope) = %v", err)
		}
	})

	t.Run("ClaimsKeepHardGroupPolicies", func(t *testing.T) {
		s := newStore(t)
		if err := s.SetQuotas(ctx, "p", "", QuotaLimits{ResInstances: -1, ResServerGroupMembers: -1}); err != nil {
			t.Fatal(err)
		}
		var nodes []Node
		for _, h := range []string{"h1", "h2", "h3"} {
			n, err := s.ReportNode(ctx, Node{Host: h, HypervisorHostname: h, VCPUs: 100, MemoryMB: 100000, LocalGB: 1000}, AllocationRatios{})
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, n)
		}
		claim := func(g ServerGroup, n Node) error {
			in, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), InstanceQuota{Defaults: novaDefaults, Group: g.UUID})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: n.ID, Group: &GroupClaim{UUID: g.UUID}})
			return err
		}
		anti, _ := s.CreateServerGroup(ctx, ServerGroup{Name: "anti", ProjectID: "p", UserID: "u", Policy: PolicyAntiAffinity}, nil)
		if err := claim(anti, nodes[0]); err != nil {
			t.Fatal(err)
		}
		var gp *GroupPolicyError
		if err := claim(anti, nodes[0]); !errors.As(err, &gp) || !errors.Is(err, ErrGroupPolicy) || gp.Host != "h1" {
			t.Fatalf("second anti-affinity member on h1: %v", err)
		}
		if err := claim(anti, nodes[1]); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.GetNode(ctx, nodes[0].ID); n.RunningVMs != 1 {
			t.Fatalf("a refused claim took room: %+v", n)
		}
		two, _ := s.CreateServerGroup(ctx, ServerGroup{Name: "two", ProjectID: "p", UserID: "u", Policy: PolicyAntiAffinity, MaxServerPerHost: 2}, nil)
		for i, want := range []bool{true, true, false} {
			if err := claim(two, nodes[2]); (err == nil) != want {
				t.Fatalf("max_server_per_host 2, member %d: %v", i+1, err)
			}
		}
		aff, _ := s.CreateServerGroup(ctx, ServerGroup{Name: "aff", ProjectID: "p", UserID: "u", Policy: PolicyAffinity}, nil)
		if err := claim(aff, nodes[1]); err != nil {
			t.Fatal(err)
		}
		if err := claim(aff, nodes[0]); !errors.Is(err, ErrGroupPolicy) {
			t.Fatalf("affinity member on another host: %v", err)
		}
		if err := claim(aff, nodes[1]); err != nil {
			t.Fatalf("affinity member on the group's host: %v", err)
		}
		soft, _ := s.CreateServerGroup(ctx, ServerGroup{Name: "soft", ProjectID: "p", UserID: "u", Policy: PolicySoftAntiAffinity}, nil)
		if err := claim(soft, nodes[0]); err != nil {
			t.Fatal(err)
		}
		if err := claim(soft, nodes[0]); err != nil {
			t.Fatalf("soft anti-affinity is a preference, not a refusal: %v", err)
		}
	})

	t.Run("ConcurrentAntiAffinityClaimsTakeOneHostEach", func(t *testing.T) {
		s := newStore(t)
		raceAntiAffinity(t, []Store{s})
	})
}

// raceQuota creates n instances at once across stores (round robin) under
// an instances quota of 10 and checks that exactly 10 were created.
func raceQuota(t *testing.T, stores []Store, n int) {
	ctx := context.Background()
	if err := stores[0].SetQuotas(ctx, "race", "", QuotaLimits{ResInstances: 10}); err != nil {
		t.Fatal(err)
	}
	var ok, over atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(s Store) {
			defer wg.Done()
			_, err := s.CreateInstanceInQuota(ctx, quotaInstance("race", "u", 1, 1), InstanceQuota{Defaults: novaDefaults})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrOverQuota):
				over.Add(1)
			default:
				errs <- err
			}
		}(stores[i%len(stores)])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	u, err := stores[0].CountUsage(ctx, "race", "")
	if err != nil {
		t.Fatal(err)
	}
	if ok.Load() != 10 || over.Load() != int32(n-10) || u.Instances != 10 {
		t.Fatalf("%d created, %d refused, %d counted; want 10, %d, 10", ok.Load(), over.Load(), u.Instances, n-10)
	}
}

// raceAntiAffinity places 6 members of one anti-affinity group at once,
// each trying the hosts in the same order, and checks no host got two.
func raceAntiAffinity(t *testing.T, stores []Store) {
	ctx := context.Background()
	s0 := stores[0]
	var nodes []Node
	for _, h := range []string{"a1", "a2", "a3", "a4"} {
		n, err := s0.ReportNode(ctx, Node{Host: h, HypervisorHostname: h, VCPUs: 100, MemoryMB: 100000, LocalGB: 1000}, AllocationRatios{})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	g, err := s0.CreateServerGroup(ctx, ServerGroup{Name: "anti", ProjectID: "p", UserID: "u", Policy: PolicyAntiAffinity}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var placed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		s := stores[i%len(stores)]
		in, err := s.CreateInstanceInQuota(ctx, quotaInstance("p", "u", 1, 1), InstanceQuota{Defaults: novaDefaults, Group: g.UUID})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range nodes {
				_, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: n.ID, Group: &GroupClaim{UUID: g.UUID}})
				if err == nil {
					placed.Add(1)
					return
				}
				if !errors.Is(err, ErrGroupPolicy) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if placed.Load() != 4 {
		t.Fatalf("%d members placed on 4 hosts, want 4", placed.Load())
	}
	for _, n := range nodes {
		if got, _ := s0.GetNode(ctx, n.ID); got.RunningVMs != 1 {
			t.Fatalf("host %s holds %d members", n.Host, got.RunningVMs)
		}
	}
}

// Two stores on their own pools over one database are two API processes:
// their creates and claims must not pass a quota or a policy together.
func TestPGQuotaAndGroupsAcrossProcesses(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, b := NewPG(pgtest.OpenPool(t, url)), NewPG(pgtest.OpenPool(t, url))
	t.Run("Quota", func(t *testing.T) { raceQuota(t, []Store{a, b}, 40) })
	t.Run("AntiAffinity", func(t *testing.T) { raceAntiAffinity(t, []Store{a, b}) })
}
