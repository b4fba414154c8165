package computedb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
)

// runResizeContract: the two claims of a resize, the same in both stores.
// Each step is checked against the nodes' counters and what ReportNode
// recomputes from the claims, so the incremental writes and the recount
// agree.
func runResizeContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	report := func(t *testing.T, s Store, host string) Node {
		t.Helper()
		n, err := s.ReportNode(ctx, Node{Host: host, HypervisorHostname: host + ".local", VCPUs: 8, MemoryMB: 8192, LocalGB: 100,
			CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1}, AllocationRatios{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	usage := func(t *testing.T, s Store, id int64) string {
		t.Helper()
		n, err := s.GetNode(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d vcpus %d MB %d GB %d vms (free %d MB %d GB)", n.VCPUsUsed, n.MemoryMBUsed, n.LocalGBUsed, n.RunningVMs, n.FreeRAMMB, n.FreeDiskGB)
		// The recount from the claims must say the same.
		r, err := s.ReportNode(ctx, Node{Host: n.Host, HypervisorHostname: n.HypervisorHostname, VCPUs: n.VCPUs, MemoryMB: n.MemoryMB, LocalGB: n.LocalGB}, AllocationRatios{})
		if err != nil {
			t.Fatal(err)
		}
		if again := fmt.Sprintf("%d vcpus %d MB %d GB %d vms (free %d MB %d GB)", r.VCPUsUsed, r.MemoryMBUsed, r.LocalGBUsed, r.RunningVMs, r.FreeRAMMB, r.FreeDiskGB); again != got {
			t.Fatalf("node %s counts %s, but its claims add up to %s", n.Host, got, again)
		}
		return got
	}
	small := FlavorAmounts{ID: "1", VCPUs: 1, MemoryMB: 512, RootGB: 1}
	big := FlavorAmounts{ID: "2", VCPUs: 2, MemoryMB: 2048, RootGB: 20}
	placed := func(t *testing.T, s Store, node int64) Instance {
		t.Helper()
		in, err := s.CreateInstance(ctx, Instance{ProjectID: "p", FlavorID: small.ID, VCPUs: small.VCPUs, MemoryMB: small.MemoryMB, RootGB: small.RootGB})
		if err != nil {
			t.Fatal(err)
		}
		if in, err = s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: node}); err != nil {
			t.Fatal(err)
		}
		return in
	}
	want := func(t *testing.T, step, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %s, want %s", step, got, want)
		}
	}

	t.Run("ResizeToAnotherNodeThenConfirm", func(t *testing.T) {
		s := newStore(t)
		a, b := report(t, s, "a"), report(t, s, "b")
		in := placed(t, s, a.ID)
		prep := states.TaskResizePrep
		if _, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{TaskState: &prep}); err != nil {
			t.Fatal(err)
		}
		none := states.TaskNone
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big, ExpectTaskState: &none}); !errors.Is(err, ErrConflict) {
			t.Fatalf("a resize claim expecting another task state: %v", err)
		}
		got, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big, ExpectTaskState: &prep})
		if err != nil || got.Resize == nil || got.Resize.OldFlavor != small || got.Resize.NewFlavor != big || got.Resize.NodeID != b.ID ||
			got.Resize.Finished || got.FlavorID != "1" || got.Host != "a" {
			t.Fatalf("resize claim: %+v (%+v), %v", got, got.Resize, err)
		}
		// The same claim again counts once; another one is refused.
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big}); err != nil {
			t.Fatalf("the same resize claim again: %v", err)
		}
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: a.ID, Flavor: big}); !errors.Is(err, ErrConflict) {
			t.Fatalf("a second resize: %v", err)
		}
		want(t, "source after the claim", usage(t, s, a.ID), "1 vcpus 512 MB 1 GB 1 vms (free 7680 MB 99 GB)")
		want(t, "destination after the claim", usage(t, s, b.ID), "2 vcpus 2048 MB 20 GB 0 vms (free 6144 MB 80 GB)")

		fin, err := s.FinishResize(ctx, in.UUID)
		if err != nil || fin.FlavorID != "2" || fin.VCPUs != 2 || fin.MemoryMB != 2048 || fin.RootGB != 20 ||
			fin.Host != "b" || fin.Node != "b.local" || fin.Resize == nil || !fin.Resize.Finished || fin.Resize.NodeID != a.ID {
			t.Fatalf("finish: %+v (%+v), %v", fin, fin.Resize, err)
		}
		if again, err := s.FinishResize(ctx, in.UUID); err != nil || again.Host != "b" {
			t.Fatalf("finish again: %+v, %v", again, err)
		}
		want(t, "source while VERIFY_RESIZE", usage(t, s, a.ID), "1 vcpus 512 MB 1 GB 0 vms (free 7680 MB 99 GB)")
		want(t, "destination while VERIFY_RESIZE", usage(t, s, b.ID), "2 vcpus 2048 MB 20 GB 1 vms (free 6144 MB 80 GB)")
		if cur, err := s.GetInstance(ctx, in.UUID); err != nil || cur.Resize == nil || *cur.Resize != *fin.Resize {
			t.Fatalf("read back: %+v, %v", cur, err)
		}

		conf, released, err := s.ConfirmResize(ctx, in.UUID)
		if err != nil || !released || conf.Resize != nil || conf.FlavorID != "2" || conf.Host != "b" {
			t.Fatalf("confirm: %+v, %v, %v", conf, released, err)
		}
		if _, released, err := s.ConfirmResize(ctx, in.UUID); err != nil || released {
			t.Fatalf("confirm again: %v, %v", released, err)
		}
		want(t, "source after confirm", usage(t, s, a.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		want(t, "destination after confirm", usage(t, s, b.ID), "2 vcpus 2048 MB 20 GB 1 vms (free 6144 MB 80 GB)")
		if err := s.DeleteInstance(ctx, in.UUID); err != nil {
			t.Fatal(err)
		}
		want(t, "destination after delete", usage(t, s, b.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
	})

	t.Run("SameNodeResizeThenRevert", func(t *testing.T) {
		s := newStore(t)
		a := report(t, s, "a")
		in := placed(t, s, a.ID)
		if _, reverted, err := s.RevertResize(ctx, in.UUID); err != nil || reverted {
			t.Fatalf("revert without a resize: %v", err)
		}
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: a.ID, Flavor: big}); err != nil {
			t.Fatal(err)
		}
		want(t, "both claims on one node", usage(t, s, a.ID), "3 vcpus 2560 MB 21 GB 1 vms (free 5632 MB 79 GB)")
		if _, _, err := s.RevertResize(ctx, in.UUID); !errors.Is(err, ErrConflict) {
			t.Fatalf("revert before finish: %v", err)
		}
		if _, err := s.FinishResize(ctx, in.UUID); err != nil {
			t.Fatal(err)
		}
		want(t, "after finish", usage(t, s, a.ID), "3 vcpus 2560 MB 21 GB 1 vms (free 5632 MB 79 GB)")
		rev, reverted, err := s.RevertResize(ctx, in.UUID)
		if err != nil || !reverted || rev.Resize != nil || rev.FlavorID != "1" || rev.VCPUs != 1 || rev.MemoryMB != 512 || rev.Host != "a" {
			t.Fatalf("revert: %+v, %v, %v", rev, reverted, err)
		}
		if _, reverted, err := s.RevertResize(ctx, in.UUID); err != nil || reverted {
			t.Fatalf("revert again: %v, %v", reverted, err)
		}
		want(t, "after revert", usage(t, s, a.ID), "1 vcpus 512 MB 1 GB 1 vms (free 7680 MB 99 GB)")
	})

	// The instance's flavor copy follows the resize: the new one from
	// FinishResize, the old one back at a revert, the new one kept at a
	// confirm.
	t.Run("FlavorCopyFollowsTheResize", func(t *testing.T) {
		s := newStore(t)
		a, b := report(t, s, "a"), report(t, s, "b")
		for _, confirm := range []bool{false, true} {
			in, err := s.CreateInstance(ctx, Instance{ProjectID: "p", FlavorID: small.ID, VCPUs: small.VCPUs, MemoryMB: small.MemoryMB, RootGB: small.RootGB,
				Flavor: InstanceFlavor{Name: "m1.tiny", ExtraSpecs: map[string]string{"k": "old"}}})
			if err != nil {
				t.Fatal(err)
			}
			if in, err = s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: a.ID}); err != nil {
				t.Fatal(err)
			}
			newCopy := InstanceFlavor{Name: "m1.small", EphemeralGB: 1, Swap: 64, RXTXFactor: 2, ExtraSpecs: map[string]string{"k": "new"}}
			if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big, Copy: newCopy}); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetInstance(ctx, in.UUID); got.Flavor.Name != "m1.tiny" {
				t.Fatalf("before finish_resize the copy is %+v, want the old one", got.Flavor)
			}
			fin, err := s.FinishResize(ctx, in.UUID)
			if err != nil || fin.Flavor.Name != "m1.small" || fin.Flavor.ExtraSpecs["k"] != "new" || fin.Flavor.Swap != 64 || fin.Flavor.RXTXFactor != 2 {
				t.Fatalf("after finish_resize: %+v, %v", fin.Flavor, err)
			}
			if confirm {
				if _, _, err := s.ConfirmResize(ctx, in.UUID); err != nil {
					t.Fatal(err)
				}
				if got, _ := s.GetInstance(ctx, in.UUID); got.Flavor.Name != "m1.small" {
					t.Fatalf("after confirm the copy is %+v", got.Flavor)
				}
				continue
			}
			rev, _, err := s.RevertResize(ctx, in.UUID)
			if err != nil || rev.Flavor.Name != "m1.tiny" || rev.Flavor.ExtraSpecs["k"] != "old" || rev.Flavor.Swap != 0 {
				t.Fatalf("after revert: %+v, %v", rev.Flavor, err)
			}
		}
	})

	t.Run("RevertToTheSourceNode", func(t *testing.T) {
		s := newStore(t)
		a, b := report(t, s, "a"), report(t, s, "b")
		in := placed(t, s, a.ID)
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishResize(ctx, in.UUID); err != nil {
			t.Fatal(err)
		}
		rev, reverted, err := s.RevertResize(ctx, in.UUID)
		if err != nil || !reverted || rev.Host != "a" || rev.Node != "a.local" || rev.FlavorID != "1" {
			t.Fatalf("revert: %+v, %v, %v", rev, reverted, err)
		}
		want(t, "source after revert", usage(t, s, a.ID), "1 vcpus 512 MB 1 GB 1 vms (free 7680 MB 99 GB)")
		want(t, "destination after revert", usage(t, s, b.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
	})

	t.Run("RefusalsAndDeleteReleasesBoth", func(t *testing.T) {
		s := newStore(t)
		a, b := report(t, s, "a"), report(t, s, "b")
		loose, err := s.CreateInstance(ctx, Instance{ProjectID: "p", FlavorID: "1", VCPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: loose.UUID, NodeID: b.ID, Flavor: big}); !errors.Is(err, ErrConflict) {
			t.Fatalf("a resize of an instance without a claim: %v", err)
		}
		in := placed(t, s, a.ID)
		_, err = s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: FlavorAmounts{ID: "9", VCPUs: 9, MemoryMB: 1}})
		if !errors.Is(err, ErrInsufficientResources) || err.Error() != "Insufficient compute resources: Free vcpu 8.00 VCPU < requested 9 VCPU." {
			t.Fatalf("9 vcpus on 8: %v", err)
		}
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: 4242, Flavor: big}); !errors.Is(err, ErrNodeNotFound) {
			t.Fatalf("an unknown node: %v", err)
		}
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: FlavorAmounts{VCPUs: 1}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a flavor without an id: %v", err)
		}
		if _, err := s.FinishResize(ctx, in.UUID); !errors.Is(err, ErrConflict) {
			t.Fatalf("finish without a resize: %v", err)
		}
		want(t, "refused claims count nothing", usage(t, s, b.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big}); err != nil {
			t.Fatal(err)
		}
		// A resize that failed before finish gives the destination back.
		if _, released, err := s.ConfirmResize(ctx, in.UUID); err != nil || !released {
			t.Fatalf("dropping an unfinished resize: %v, %v", released, err)
		}
		want(t, "destination after the drop", usage(t, s, b.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteInstance(ctx, in.UUID); err != nil {
			t.Fatal(err)
		}
		want(t, "source after delete", usage(t, s, a.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		want(t, "destination after delete", usage(t, s, b.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		if released, err := s.ReleaseClaim(ctx, in.UUID); err != nil || released {
			t.Fatalf("release after delete: %v, %v", released, err)
		}
		// ReleaseClaim (an instance put in ERROR) gives back both.
		other := placed(t, s, a.ID)
		if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: other.UUID, NodeID: b.ID, Flavor: big}); err != nil {
			t.Fatal(err)
		}
		if released, err := s.ReleaseClaim(ctx, other.UUID); err != nil || !released {
			t.Fatalf("release: %v, %v", released, err)
		}
		want(t, "source after release", usage(t, s, a.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		want(t, "destination after release", usage(t, s, b.ID), "0 vcpus 0 MB 0 GB 0 vms (free 8192 MB 100 GB)")
		if cur, err := s.GetInstance(ctx, other.UUID); err != nil || cur.Resize != nil {
			t.Fatalf("after release: %+v, %v", cur, err)
		}
	})

	t.Run("ConcurrentConfirmsAndRevertsReleaseOnce", func(t *testing.T) {
		s := newStore(t)
		a, b := report(t, s, "a"), report(t, s, "b")
		const n = 4 // 4 × big fills b exactly
		ids := make([]string, n)
		for i := range ids {
			in := placed(t, s, a.ID)
			if _, err := s.ClaimResize(ctx, ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID, Flavor: big}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.FinishResize(ctx, in.UUID); err != nil {
				t.Fatal(err)
			}
			ids[i] = in.UUID
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := map[string]int{}
		for _, id := range ids {
			for k := 0; k < 4; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var won bool
					var err error
					if k%2 == 0 {
						_, won, err = s.ConfirmResize(ctx, id)
					} else {
						_, won, err = s.RevertResize(ctx, id)
					}
					if err != nil {
						t.Error(err)
					}
					if won {
						mu.Lock()
						wins[id]++
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		confirmed := 0
		for _, id := range ids {
			if wins[id] != 1 {
				t.Fatalf("instance %s: %d winners, want exactly 1", id, wins[id])
			}
			cur, err := s.GetInstance(ctx, id)
			if err != nil || cur.Resize != nil {
				t.Fatalf("after the race: %+v, %v", cur, err)
			}
			if cur.Host == "b" {
				confirmed++
			}
		}
		ua := usage(t, s, a.ID)
		ub := usage(t, s, b.ID)
		wa := fmt.Sprintf("%d vcpus %d MB %d GB %d vms (free %d MB %d GB)", n-confirmed, 512*(n-confirmed), n-confirmed, n-confirmed, 8192-512*(n-confirmed), 100-(n-confirmed))
		wb := fmt.Sprintf("%d vcpus %d MB %d GB %d vms (free %d MB %d GB)", 2*confirmed, 2048*confirmed, 20*confirmed, confirmed, 8192-2048*confirmed, 100-20*confirmed)
		want(t, "source after the race", ua, wa)
		want(t, "destination after the race", ub, wb)
	})
}
