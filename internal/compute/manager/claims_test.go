package manager

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
)

// The resource tracker at build time: a scheduler's claim is found and not
// counted twice, an instance sent without one claims on the spot, a node
// without room fails the build with nova's ComputeResourcesUnavailable
// fault, a spawn that fails gives its claim back, and racing deletes give
// each claim back exactly once.
func TestBuildChecksTheClaim(t *testing.T) {
	clk := clocktest.New(clocktest.Epoch)
	// The claims allow 4 vcpus (ratio 2 on 2); the hypervisor takes 2.
	drv := fake.New(fake.Options{VCPUs: 2, Clock: clk, Logger: quiet})
	store := computedb.NewMem()
	m, err := New(Options{Host: host, Driver: drv, Store: store, Clock: clk, Logger: quiet,
		Registerer: prometheus.NewPedanticRegistry(), AllocationRatios: computedb.AllocationRatios{CPU: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitHost(ctx(t)); err != nil {
		t.Fatal(err)
	}
	h := &harness{m: m, ep: m.Endpoints()[0].Impl.(*Endpoint), drv: drv, store: store, clk: clk}
	if err := m.UpdateAvailableResource(ctx(t)); err != nil {
		t.Fatal(err)
	}
	nodeID := m.nodeID
	used := func() computedb.Node {
		t.Helper()
		n, err := store.GetNode(ctx(t), nodeID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	scheduled := h.create(t, 1, 512, 1)
	if _, err := store.ClaimInstance(ctx(t), computedb.ClaimRequest{InstanceUUID: scheduled.UUID, NodeID: nodeID}); err != nil {
		t.Fatal(err)
	}
	h.build(t, scheduled)
	wantState(t, h.get(t, scheduled.UUID), states.VMActive, states.TaskNone, states.PowerRunning)
	if n := used(); n.VCPUsUsed != 1 || n.RunningVMs != 1 {
		t.Fatalf("the scheduler's claim counted again at build: %d vcpus, %d vms", n.VCPUsUsed, n.RunningVMs)
	}

	direct := h.create(t, 1, 512, 1) // cast here without a claim
	h.build(t, direct)
	wantState(t, h.get(t, direct.UUID), states.VMActive, states.TaskNone, states.PowerRunning)
	if n := used(); n.VCPUsUsed != 2 {
		t.Fatalf("a build without a claim did not claim: %d vcpus", n.VCPUsUsed)
	}

	// Room in the claims, none on the hypervisor: the spawn fails and the
	// claim is given back.
	spawnFails := h.create(t, 1, 512, 1)
	h.build(t, spawnFails)
	got := h.get(t, spawnFails.UUID)
	wantState(t, got, states.VMError, states.TaskNone, states.PowerNoState)
	if n := used(); n.VCPUsUsed != 2 || n.RunningVMs != 2 {
		t.Fatalf("a failed spawn kept its claim: %d vcpus, %d vms (fault %+v)", n.VCPUsUsed, n.RunningVMs, got.Fault)
	}

	// No room in the claims: nova's fault, nothing claimed.
	tooBig := h.create(t, 3, 512, 1)
	h.build(t, tooBig)
	got = h.get(t, tooBig.UUID)
	wantState(t, got, states.VMError, states.TaskNone, states.PowerNoState)
	if got.Fault == nil || got.Fault.Message != "Insufficient compute resources: Free vcpu 2.00 VCPU < requested 3 VCPU." {
		t.Fatalf("fault %+v", got.Fault)
	}
	if n := used(); n.VCPUsUsed != 2 || len(h.guests(t)) != 2 {
		t.Fatalf("after a refused build: %d vcpus, guests %v", n.VCPUsUsed, h.guests(t))
	}

	// Deletes racing: terminate casts delivered three times, the API's
	// local delete and explicit releases. Each claim comes back once.
	var wg sync.WaitGroup
	for _, in := range []computedb.Instance{scheduled, direct, spawnFails, tooBig} {
		for i := range 6 {
			wg.Go(func() {
				switch {
				case i < 3:
					if err := h.ep.TerminateInstance(ctx(t), rpcapi.TerminateInstanceArgs{Instance: rpcapi.Instance{UUID: in.UUID}}); err != nil {
						t.Error(err)
					}
				case i == 3:
					_ = store.DeleteInstance(ctx(t), in.UUID)
				default:
					if _, err := store.ReleaseClaim(ctx(t), in.UUID); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	if n := used(); n.VCPUsUsed != 0 || n.MemoryMBUsed != 0 || n.RunningVMs != 0 {
		t.Fatalf("after the deletes: %d vcpus, %d MB, %d vms (a claim given back twice or never)", n.VCPUsUsed, n.MemoryMBUsed, n.RunningVMs)
	}
	if err := m.UpdateAvailableResource(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := used(); n.VCPUsUsed != 0 || n.RunningVMs != 0 {
		t.Fatalf("the report disagrees: %d vcpus, %d vms", n.VCPUsUsed, n.RunningVMs)
	}
}
