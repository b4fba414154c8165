package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/periodic"
)

const host = "compute-1"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type harness struct {
	m     *ComputeManager
	ep    *Endpoint
	drv   *fake.Driver
	store computedb.Store
	reg   *prometheus.Registry
	clk   *clocktest.Fake
}

func newHarness(t *testing.T, fo fake.Options) *harness {
	t.Helper()
	clk := clocktest.New(clocktest.Epoch)
	fo.Clock, fo.Logger = clk, quiet
	drv := fake.New(fo)
	store := computedb.NewMem()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(Options{Host: host, Driver: drv, Store: store, Clock: clk, Logger: quiet, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitHost(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return &harness{m: m, ep: m.Endpoints()[0].Impl.(*Endpoint), drv: drv, store: store, reg: reg, clk: clk}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

var nextUUID = 0

func newUUID() string {
	nextUUID++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", nextUUID)
}

// create stores an instance as nova-api leaves it for the compute: building,
// task scheduling, placed on host.
func (h *harness) create(t *testing.T, vcpus int, memMB, diskGB int64) computedb.Instance {
	t.Helper()
	in, err := h.store.CreateInstance(ctx(t), computedb.Instance{
		UUID: newUUID(), DisplayName: "vm", ProjectID: "p", UserID: "u", Host: host,
		VMState: states.VMBuilding, TaskState: states.TaskScheduling, FlavorID: "f1",
		VCPUs: vcpus, MemoryMB: memMB, RootGB: diskGB, ImageRef: "cirros",
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (h *harness) build(t *testing.T, in computedb.Instance) {
	t.Helper()
	if err := h.ep.BuildAndRunInstance(ctx(t), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in)}); err != nil {
		t.Fatalf("build: %v", err)
	}
}

func (h *harness) get(t *testing.T, id string) computedb.Instance {
	t.Helper()
	in, err := h.store.GetInstance(ctx(t), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return in
}

func (h *harness) builds(outcome string) int {
	return int(testutil.ToFloat64(h.m.met.builds.WithLabelValues(outcome)))
}

func (h *harness) guests(t *testing.T) []string {
	t.Helper()
	u, err := h.drv.ListInstanceUUIDs(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func wantState(t *testing.T, in computedb.Instance, vm states.VMState, task states.TaskState, power states.PowerState) {
	t.Helper()
	if in.VMState != vm || in.TaskState != task || in.PowerState != power {
		t.Fatalf("instance %s: vm_state %q task_state %q power_state %d; want %q %q %d",
			in.UUID, in.VMState, in.TaskState, in.PowerState, vm, task, power)
	}
}

func TestBuildAndRunInstance(t *testing.T) {
	h := newHarness(t, fake.Options{NodeName: "node-a"})
	in := h.create(t, 2, 1024, 10)
	h.clk.Advance(time.Minute)
	h.build(t, in)

	got := h.get(t, in.UUID)
	wantState(t, got, states.VMActive, states.TaskNone, states.PowerRunning)
	if got.LaunchedAt == nil || !got.LaunchedAt.Equal(clocktest.Epoch.Add(time.Minute)) || got.Host != host || got.Node != "node-a" {
		t.Fatalf("launched_at %v host %q node %q", got.LaunchedAt, got.Host, got.Node)
	}
	if g := h.guests(t); len(g) != 1 || g[0] != in.UUID {
		t.Fatalf("guests %v", g)
	}
	names, _ := h.drv.ListInstances(ctx(t))
	if want := fmt.Sprintf("instance-%08x", in.ID); len(names) != 1 || names[0] != want {
		t.Fatalf("guest names %v, want %s", names, want)
	}

	// A duplicate cast (the API retried, or the broker redelivered) does
	// nothing: no second spawn, no state change.
	h.build(t, in)
	if again := h.get(t, in.UUID); *again.UpdatedAt != *got.UpdatedAt || again.VMState != states.VMActive {
		t.Fatalf("duplicate build changed the instance: %+v", again)
	}
	if h.builds(buildSuccess) != 1 || h.builds(buildDuplicate) != 1 || h.builds(buildFailure) != 0 {
		t.Fatalf("builds: success %d duplicate %d failure %d", h.builds(buildSuccess), h.builds(buildDuplicate), h.builds(buildFailure))
	}
}

func TestBuildFailureSetsError(t *testing.T) {
	h := newHarness(t, fake.Options{VCPUs: 2})
	in := h.create(t, 4, 512, 1) // more vcpus than the host has
	h.build(t, in)
	got := h.get(t, in.UUID)
	wantState(t, got, states.VMError, states.TaskNone, states.PowerNoState)
	if got.LaunchedAt != nil || len(h.guests(t)) != 0 {
		t.Fatalf("a failed build launched: %+v, guests %v", got, h.guests(t))
	}
	// The API shows why, as nova's instance fault: the resource tracker's
	// claim refused it (nova's ComputeResourcesUnavailable, recorded as is
	// when the build cannot be rescheduled).
	if got.Fault == nil || got.Fault.Code != 500 || !strings.Contains(strings.ToLower(got.Fault.Message), "vcpu") ||
		got.Fault.Message != "Insufficient compute resources: Free vcpu 2.00 VCPU < requested 4 VCPU." {
		t.Fatalf("fault of the failed build: %+v", got.Fault)
	}
	if h.builds(buildFailure) != 1 || h.builds(buildSuccess) != 0 {
		t.Fatal("failure not counted")
	}
	// An instance in error is not rebuilt by a late duplicate.
	h.build(t, in)
	if h.builds(buildDuplicate) != 1 || h.get(t, in.UUID).VMState != states.VMError {
		t.Fatal("a duplicate build of an errored instance was not ignored")
	}
}

func TestBuildOfDeletedInstanceIsAborted(t *testing.T) {
	h := newHarness(t, fake.Options{})
	gone := h.create(t, 1, 1, 1)
	if err := h.store.DeleteInstance(ctx(t), gone.UUID); err != nil {
		t.Fatal(err)
	}
	h.build(t, gone)

	deleting := h.create(t, 1, 1, 1)
	if _, err := h.store.UpdateInstance(ctx(t), deleting.UUID, computedb.InstanceUpdate{TaskState: ptr(states.TaskDeleting)}); err != nil {
		t.Fatal(err)
	}
	h.build(t, deleting)
	if h.builds(buildAborted) != 2 || len(h.guests(t)) != 0 {
		t.Fatalf("aborted %d, guests %v", h.builds(buildAborted), h.guests(t))
	}
	if got := h.get(t, deleting.UUID); got.TaskState != states.TaskDeleting || got.VMState != states.VMBuilding {
		t.Fatalf("the build touched an instance being deleted: %+v", got)
	}
}

func TestTerminateInstance(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	args := rpcapi.TerminateInstanceArgs{Instance: rpcapi.Instance{UUID: in.UUID}}
	if err := h.ep.TerminateInstance(ctx(t), args); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.GetInstance(ctx(t), in.UUID); !errors.Is(err, computedb.ErrNotFound) {
		t.Fatalf("row after terminate: %v", err)
	}
	if len(h.guests(t)) != 0 {
		t.Fatal("guest left after terminate")
	}
	// Deletes are retried: a second one is no error.
	if err := h.ep.TerminateInstance(ctx(t), args); err != nil {
		t.Fatalf("second terminate: %v", err)
	}

	// The hypervisor lost the guest already: the row still goes.
	lost := h.create(t, 1, 512, 1)
	h.build(t, lost)
	if err := h.drv.Vanish(lost.UUID); err != nil {
		t.Fatal(err)
	}
	if err := h.ep.TerminateInstance(ctx(t), rpcapi.TerminateInstanceArgs{Instance: rpcapi.Instance{UUID: lost.UUID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.GetInstance(ctx(t), lost.UUID); !errors.Is(err, computedb.ErrNotFound) {
		t.Fatalf("row of a vanished guest after terminate: %v", err)
	}
}

func TestRebootInstance(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	reboot := func(id, how string) error {
		return h.ep.RebootInstance(ctx(t), rpcapi.RebootInstanceArgs{Instance: rpcapi.Instance{UUID: id}, RebootType: how})
	}

	// As nova-api leaves it: task rebooting.
	if _, err := h.store.UpdateInstance(ctx(t), in.UUID, computedb.InstanceUpdate{TaskState: ptr(states.TaskRebooting)}); err != nil {
		t.Fatal(err)
	}
	if err := reboot(in.UUID, "SOFT"); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, in.UUID), states.VMActive, states.TaskNone, states.PowerRunning)
	if out, _ := h.drv.GetConsoleOutput(ctx(t), in.UUID); !strings.Contains(out, "soft reboot requested") {
		t.Fatalf("console after a soft reboot:\n%s", out)
	}

	// A stopped instance comes back active with a hard reboot.
	if err := h.drv.PowerOff(ctx(t), in.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.UpdateInstance(ctx(t), in.UUID, computedb.InstanceUpdate{VMState: ptr(states.VMStopped), PowerState: ptr(states.PowerShutdown)}); err != nil {
		t.Fatal(err)
	}
	if err := reboot(in.UUID, "HARD"); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, in.UUID), states.VMActive, states.TaskNone, states.PowerRunning)

	// Refusals.
	if _, err := h.store.UpdateInstance(ctx(t), in.UUID, computedb.InstanceUpdate{TaskState: ptr(states.TaskDeleting)}); err != nil {
		t.Fatal(err)
	}
	err := reboot(in.UUID, "HARD")
	var inv *rpcapi.InstanceInvalidStateError
	if !errors.As(err, &inv) || inv.Attr != "task_state" || inv.State != string(states.TaskDeleting) {
		t.Fatalf("reboot while deleting = %v", err)
	}
	if got := h.get(t, in.UUID); got.TaskState != states.TaskDeleting {
		t.Fatalf("refused reboot changed the task state to %q", got.TaskState)
	}
	if err := reboot(newUUID(), "SOFT"); !errors.Is(err, rpcapi.ErrInstanceNotFound) {
		t.Fatalf("reboot of an unknown instance = %v", err)
	}
	if err := reboot(in.UUID, "WARM"); err == nil {
		t.Fatal("reboot type WARM accepted")
	}
	building := h.create(t, 1, 1, 1)
	if err := reboot(building.UUID, "HARD"); !errors.Is(err, rpcapi.ErrInstanceInvalidState) {
		t.Fatalf("reboot of a building instance = %v", err)
	}
}

func TestRebootFailureOfMissingGuestSetsError(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	if err := h.drv.Vanish(in.UUID); err != nil {
		t.Fatal(err)
	}
	err := h.ep.RebootInstance(ctx(t), rpcapi.RebootInstanceArgs{Instance: rpcapi.Instance{UUID: in.UUID}, RebootType: "HARD"})
	if !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Fatalf("reboot of a vanished guest = %v", err)
	}
	wantState(t, h.get(t, in.UUID), states.VMError, states.TaskNone, states.PowerNoState)
}

func TestConsoleOutputAndDiagnostics(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 2, 2048, 1)
	h.build(t, in)
	for i := 0; i < 2; i++ {
		h.clk.Advance(time.Second)
		if err := h.ep.RebootInstance(ctx(t), rpcapi.RebootInstanceArgs{Instance: rpcapi.Instance{UUID: in.UUID}, RebootType: "HARD"}); err != nil {
			t.Fatal(err)
		}
	}
	console := func(tail *int) string {
		t.Helper()
		out, err := h.ep.GetConsoleOutput(ctx(t), rpcapi.GetConsoleOutputArgs{Instance: rpcapi.Instance{UUID: in.UUID}, TailLength: tail})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	full := console(nil)
	lines := strings.Split(strings.TrimSuffix(full, "\n"), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], "spawning") {
		t.Fatalf("full console (%d lines):\n%s", len(lines), full)
	}
	if got, want := console(ptr(2)), strings.Join(lines[4:], "\n")+"\n"; got != want {
		t.Fatalf("tail 2 = %q, want %q", got, want)
	}
	if got := console(ptr(100)); got != full {
		t.Fatalf("tail 100 = %q, want the whole log", got)
	}
	if got := console(ptr(0)); got != "" {
		t.Fatalf("tail 0 = %q, want nothing (nova)", got)
	}
	_, err := h.ep.GetConsoleOutput(ctx(t), rpcapi.GetConsoleOutputArgs{Instance: rpcapi.Instance{UUID: newUUID()}})
	if !errors.Is(err, rpcapi.ErrInstanceNotFound) {
		t.Fatalf("console of an unknown instance = %v", err)
	}

	h.clk.Advance(30 * time.Second)
	d, err := h.ep.GetDiagnostics(ctx(t), rpcapi.GetDiagnosticsArgs{Instance: rpcapi.Instance{UUID: in.UUID}})
	if err != nil || d.State != "running" || d.NumCPUs != 2 || d.MemoryDetails.Maximum != 2048 || d.UptimeSeconds != 30 {
		t.Fatalf("diagnostics = %+v, %v", d, err)
	}
	if _, err := h.ep.GetDiagnostics(ctx(t), rpcapi.GetDiagnosticsArgs{Instance: rpcapi.Instance{UUID: newUUID()}}); !errors.Is(err, rpcapi.ErrInstanceNotFound) {
		t.Fatalf("diagnostics of an unknown instance = %v", err)
	}
}

func TestTailLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 3, "a\nb\nc\n"},
		{"a\nb\nc\n", 9, "a\nb\nc\n"},
		{"a\n", 0, ""},
		{"a\n", -1, ""},
		{"", 3, ""},
	} {
		if got := tailLines(tc.in, tc.n); got != tc.want {
			t.Errorf("tailLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestUpdateAvailableResource(t *testing.T) {
	h := newHarness(t, fake.Options{VCPUs: 8, MemoryMB: 16384, LocalGB: 100, NodeName: "node-a"})
	a := h.create(t, 2, 2048, 20)
	b := h.create(t, 1, 512, 10)
	h.build(t, a)
	h.build(t, b)
	pending := h.create(t, 1, 1024, 5) // scheduled here, not built yet: already holds its share
	ns, err := h.store.ListNodes(ctx(t))
	if err != nil || len(ns) != 1 {
		t.Fatalf("nodes after the builds = %+v, %v", ns, err)
	}
	if _, err := h.store.ClaimInstance(ctx(t), computedb.ClaimRequest{InstanceUUID: pending.UUID, NodeID: ns[0].ID}); err != nil {
		t.Fatal(err) // as the scheduler claims
	}
	failed := h.create(t, 16, 1, 1)
	h.build(t, failed) // does not fit: error, holds nothing

	if err := h.m.PreStartHook(ctx(t), registry.Service{ID: 7, Host: host}); err != nil {
		t.Fatal(err)
	}
	nodes, err := h.store.ListNodes(ctx(t))
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes = %+v, %v", nodes, err)
	}
	n := nodes[0]
	want := computedb.Node{
		ID: n.ID, UUID: n.UUID, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt,
		ServiceID: 7, Host: host, HypervisorHostname: "node-a", HypervisorType: fake.HypervisorType,
		HypervisorVersion: fake.HypervisorVersion,
		VCPUs:             8, VCPUsUsed: 4, MemoryMB: 16384, MemoryMBUsed: 3584, LocalGB: 100, LocalGBUsed: 35,
		FreeRAMMB: 16384 - 3584, FreeDiskGB: 65, RunningVMs: 3, CurrentWorkload: 1,
		DiskAvailableLeast: 70, CPUInfo: fake.CPUInfo(8), CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1,
	}
	if n != want {
		t.Fatalf("compute node\n got %+v\nwant %+v", n, want)
	}

	// The periodic run keeps the service id and follows the instances.
	if err := h.ep.TerminateInstance(ctx(t), rpcapi.TerminateInstanceArgs{Instance: rpcapi.Instance{UUID: a.UUID}}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.UpdateAvailableResource(ctx(t)); err != nil {
		t.Fatal(err)
	}
	n2, _ := h.store.GetNode(ctx(t), n.ID)
	if n2.ServiceID != 7 || n2.VCPUsUsed != 2 || n2.RunningVMs != 2 || n2.FreeDiskGB != 85 {
		t.Fatalf("after a delete: %+v", n2)
	}
	expected := `
# HELP gonova_compute_instances Instances on this compute host by vm_state, as the database said at the last update_available_resource.
# TYPE gonova_compute_instances gauge
gonova_compute_instances{vm_state="active"} 1
gonova_compute_instances{vm_state="building"} 1
gonova_compute_instances{vm_state="deleted"} 0
gonova_compute_instances{vm_state="error"} 1
gonova_compute_instances{vm_state="other"} 0
gonova_compute_instances{vm_state="paused"} 0
gonova_compute_instances{vm_state="rescued"} 0
gonova_compute_instances{vm_state="resized"} 0
gonova_compute_instances{vm_state="shelved"} 0
gonova_compute_instances{vm_state="shelved_offloaded"} 0
gonova_compute_instances{vm_state="soft-delete"} 0
gonova_compute_instances{vm_state="stopped"} 0
gonova_compute_instances{vm_state="suspended"} 0
# HELP gonova_compute_builds_total build_and_run_instance requests handled, by outcome (success, failure, duplicate, aborted).
# TYPE gonova_compute_builds_total counter
gonova_compute_builds_total{outcome="aborted"} 0
gonova_compute_builds_total{outcome="duplicate"} 0
gonova_compute_builds_total{outcome="failure"} 1
gonova_compute_builds_total{outcome="success"} 2
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(expected), "gonova_compute_instances", "gonova_compute_builds_total"); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsStartAtZeroAndRegisterOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	opts := Options{Host: host, Driver: fake.New(fake.Options{Logger: quiet}), Store: computedb.NewMem(), Logger: quiet, Registerer: reg}
	if _, err := New(opts); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "gonova_compute_builds_total"); err != nil || n != 4 {
		t.Fatalf("builds_total series = %d, %v; want 4 at zero", n, err)
	}
	if n, _ := testutil.GatherAndCount(reg, "gonova_compute_instances"); n != len(states.VMStates())+1 {
		t.Fatalf("instances series = %d", n)
	}
	if _, err := New(opts); err == nil {
		t.Fatal("a second manager on the same registry was accepted")
	}
	for name, o := range map[string]Options{
		"no host":   {Driver: opts.Driver, Store: opts.Store},
		"no driver": {Host: host, Store: opts.Store},
		"no store":  {Host: host, Driver: opts.Driver},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSyncPowerStates(t *testing.T) {
	h := newHarness(t, fake.Options{})
	mk := func() computedb.Instance { in := h.create(t, 1, 1, 1); h.build(t, in); return in }
	crashed, vanished, fine, startedBehind, busy, paused := mk(), mk(), mk(), mk(), mk(), mk()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.drv.Crash(crashed.UUID))
	must(h.drv.Vanish(vanished.UUID))
	_, err := h.store.UpdateInstance(ctx(t), startedBehind.UUID, computedb.InstanceUpdate{VMState: ptr(states.VMStopped), PowerState: ptr(states.PowerShutdown)})
	must(err)
	must(h.drv.Crash(busy.UUID))
	_, err = h.store.UpdateInstance(ctx(t), busy.UUID, computedb.InstanceUpdate{TaskState: ptr(states.TaskRebootingHard)})
	must(err)
	must(h.drv.SetPowerState(paused.UUID, states.PowerPaused))

	must(h.m.SyncPowerStates(ctx(t)))

	wantState(t, h.get(t, crashed.UUID), states.VMStopped, states.TaskNone, states.PowerCrashed)
	wantState(t, h.get(t, vanished.UUID), states.VMError, states.TaskNone, states.PowerNoState)
	wantState(t, h.get(t, fine.UUID), states.VMActive, states.TaskNone, states.PowerRunning)
	wantState(t, h.get(t, startedBehind.UUID), states.VMStopped, states.TaskNone, states.PowerShutdown)
	if info, _ := h.drv.GetInfo(ctx(t), startedBehind.UUID); info.State != states.PowerShutdown {
		t.Fatalf("a stopped instance found running was not powered off: %v", info.State)
	}
	wantState(t, h.get(t, busy.UUID), states.VMActive, states.TaskRebootingHard, states.PowerRunning) // skipped: a task is in progress
	wantState(t, h.get(t, paused.UUID), states.VMActive, states.TaskNone, states.PowerPaused)         // nova: ignore, record the power state

	// A second pass changes nothing.
	before := h.get(t, crashed.UUID).UpdatedAt
	must(h.m.SyncPowerStates(ctx(t)))
	if after := h.get(t, crashed.UUID).UpdatedAt; !after.Equal(*before) {
		t.Fatal("a second sync rewrote an instance that was already in sync")
	}
}

func TestInitHostReconciles(t *testing.T) {
	clk := clocktest.New(clocktest.Epoch)
	drv := fake.New(fake.Options{Clock: clk, Logger: quiet})
	store := computedb.NewMem()
	c := ctx(t)
	mk := func(vm states.VMState, task states.TaskState, power states.PowerState, guest bool) computedb.Instance {
		t.Helper()
		in, err := store.CreateInstance(c, computedb.Instance{UUID: newUUID(), Host: host, VMState: vm, TaskState: task,
			PowerState: power, VCPUs: 1, MemoryMB: 1, RootGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		if guest {
			if err := drv.Spawn(c, virt.InstanceSpec{UUID: in.UUID, Name: instanceName(in), Flavor: virt.Flavor{VCPUs: 1}}); err != nil {
				t.Fatal(err)
			}
		}
		return in
	}
	spawning := mk(states.VMBuilding, states.TaskSpawning, states.PowerNoState, false)
	scheduled := mk(states.VMBuilding, states.TaskScheduling, states.PowerNoState, false)
	deleting := mk(states.VMActive, states.TaskDeleting, states.PowerRunning, true)
	rebooting := mk(states.VMActive, states.TaskRebootingHard, states.PowerRunning, true)
	drifted := mk(states.VMActive, states.TaskNone, states.PowerRunning, true)
	if err := drv.PowerOff(c, drifted.UUID); err != nil {
		t.Fatal(err)
	}
	other, err := store.CreateInstance(c, computedb.Instance{UUID: newUUID(), Host: "compute-2", VMState: states.VMBuilding, TaskState: states.TaskSpawning})
	if err != nil {
		t.Fatal(err)
	}
	orphan := virt.InstanceSpec{UUID: newUUID(), Name: "instance-orphan"}
	if err := drv.Spawn(c, orphan); err != nil {
		t.Fatal(err)
	}

	m, err := New(Options{Host: host, Driver: drv, Store: store, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitHost(c); err != nil {
		t.Fatal(err)
	}
	get := func(id string) computedb.Instance {
		in, err := store.GetInstance(c, id)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	wantState(t, get(spawning.UUID), states.VMError, states.TaskNone, states.PowerNoState)
	wantState(t, get(scheduled.UUID), states.VMError, states.TaskNone, states.PowerNoState)
	if _, err := store.GetInstance(c, deleting.UUID); !errors.Is(err, computedb.ErrNotFound) {
		t.Fatalf("interrupted delete not finished: %v", err)
	}
	if _, err := drv.GetInfo(c, deleting.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Fatal("interrupted delete left the guest")
	}
	wantState(t, get(rebooting.UUID), states.VMActive, states.TaskNone, states.PowerRunning)
	wantState(t, get(drifted.UUID), states.VMActive, states.TaskNone, states.PowerShutdown)
	wantState(t, get(other.UUID), states.VMBuilding, states.TaskSpawning, states.PowerNoState) // another host's
	if _, err := drv.GetInfo(c, orphan.UUID); err != nil {
		t.Fatalf("init_host destroyed a guest it does not know: %v", err)
	}

	cancelled, cancel := context.WithCancel(c)
	cancel()
	if err := m.InitHost(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("InitHost with a done context = %v", err)
	}
}

func TestShutdownWaitsForInflightBuild(t *testing.T) {
	h := newHarness(t, fake.Options{SpawnDelay: time.Minute})
	in := h.create(t, 1, 1, 1)
	built := make(chan error, 1)
	go func() {
		built <- h.ep.BuildAndRunInstance(context.Background(), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in)})
	}()
	if err := h.clk.WaitForTimers(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- h.m.Shutdown(ctx(t)) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned with a spawn in flight: %v", err)
	case <-time.After(150 * time.Millisecond):
	}
	// New work is refused, retryably, while shutting down.
	err := h.ep.RebootInstance(ctx(t), rpcapi.RebootInstanceArgs{Instance: rpcapi.Instance{UUID: in.UUID}, RebootType: "SOFT"})
	if !errors.Is(err, errShuttingDown) || !rpcsvc.IsRetryable(err) {
		t.Fatalf("work during shutdown = %v, want a retryable refusal", err)
	}

	h.clk.Advance(time.Minute)
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	wantState(t, h.get(t, in.UUID), states.VMActive, states.TaskNone, states.PowerRunning)
}

func TestShutdownDeadlineCancelsAndReports(t *testing.T) {
	h := newHarness(t, fake.Options{SpawnDelay: time.Hour})
	in := h.create(t, 1, 1, 1)
	built := make(chan error, 1)
	go func() {
		built <- h.ep.BuildAndRunInstance(context.Background(), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in)})
	}()
	if err := h.clk.WaitForTimers(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := h.m.Shutdown(sctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "build_and_run_instance(instance "+in.UUID) {
		t.Fatalf("Shutdown past its deadline = %v", err)
	}
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	// The cancelled spawn recorded its failure rather than leaving "spawning".
	wantState(t, h.get(t, in.UUID), states.VMError, states.TaskNone, states.PowerNoState)
	if h.builds(buildFailure) != 1 {
		t.Fatal("cancelled build not counted as a failure")
	}
}

func TestTerminateDuringBuild(t *testing.T) {
	h := newHarness(t, fake.Options{SpawnDelay: time.Minute})
	in := h.create(t, 1, 1, 1)
	built := make(chan error, 1)
	go func() {
		built <- h.ep.BuildAndRunInstance(ctx(t), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in)})
	}()
	if err := h.clk.WaitForTimers(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := h.ep.TerminateInstance(ctx(t), rpcapi.TerminateInstanceArgs{Instance: rpcapi.Instance{UUID: in.UUID}}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.GetInstance(ctx(t), in.UUID); !errors.Is(err, computedb.ErrNotFound) {
		t.Fatalf("row after delete during build: %v", err)
	}
	if len(h.guests(t)) != 0 || h.builds(buildAborted) != 1 {
		t.Fatalf("guests %v, aborted %d", h.guests(t), h.builds(buildAborted))
	}
}

func TestPeriodicTasksAndEndpoints(t *testing.T) {
	h := newHarness(t, fake.Options{})
	var ts periodic.Tasks
	h.m.PeriodicTasks(&ts)
	if ts.Len() != 2 {
		t.Fatalf("%d periodic tasks, want 2", ts.Len())
	}

	drv, store := fake.New(fake.Options{Logger: quiet}), computedb.NewMem()
	cm, err := New(Options{Host: "compute-9", Driver: drv, Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var _ service.Manager = cm // what service.Options.Manager takes
	if cm.Host() != "compute-9" {
		t.Fatalf("manager host = %q", cm.Host())
	}
	eps := cm.Endpoints()
	if len(eps) != 1 || eps[0].Version != rpcapi.Version || eps[0].Namespace != "" {
		t.Fatalf("endpoints = %+v", eps)
	}
	// A compute of the first release serves 6.0 only; no release served 6.7.
	old, err := New(Options{Host: "compute-8", Driver: drv, Store: store, Logger: quiet, RPCVersion: "6.0"})
	if err != nil || old.Endpoints()[0].Version != "6.0" || old.RPCVersion() != "6.0" {
		t.Fatalf("RPCVersion 6.0: %v", err)
	}
	if _, err := New(Options{Host: "compute-7", Driver: drv, Store: store, Logger: quiet, RPCVersion: "6.7"}); err == nil {
		t.Fatal("RPCVersion 6.7 accepted")
	}
}

// power_on = false (6.1) builds the guest and leaves it stopped; a manager
// serving 6.0 has no such argument and boots it.
func TestBuildWithPowerOnFalse(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	off := false
	if err := h.ep.BuildAndRunInstance(ctx(t), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in), PowerOn: &off}); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, in.UUID)
	wantState(t, got, states.VMStopped, states.TaskNone, states.PowerShutdown)
	if got.LaunchedAt == nil || len(h.guests(t)) != 1 || h.builds(buildSuccess) != 1 {
		t.Fatalf("launched_at %v, guests %v, successes %d", got.LaunchedAt, h.guests(t), h.builds(buildSuccess))
	}
	if info, err := h.drv.GetInfo(ctx(t), in.UUID); err != nil || info.State != states.PowerShutdown {
		t.Fatalf("guest %+v, %v; want it shut down", info, err)
	}
	// A power sync leaves the stopped instance as it is.
	if err := h.m.SyncPowerStates(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, in.UUID), states.VMStopped, states.TaskNone, states.PowerShutdown)

	on := true
	in2 := h.create(t, 1, 512, 1)
	if err := h.ep.BuildAndRunInstance(ctx(t), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in2), PowerOn: &on}); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, in2.UUID), states.VMActive, states.TaskNone, states.PowerRunning)

	drv, store := fake.New(fake.Options{Logger: quiet}), computedb.NewMem()
	old, err := New(Options{Host: host, Driver: drv, Store: store, Logger: quiet, RPCVersion: "6.0"})
	if err != nil {
		t.Fatal(err)
	}
	in3, err := store.CreateInstance(ctx(t), computedb.Instance{UUID: newUUID(), DisplayName: "vm", ProjectID: "p", UserID: "u", Host: host,
		VMState: states.VMBuilding, TaskState: states.TaskScheduling, FlavorID: "f1", VCPUs: 1, MemoryMB: 512, RootGB: 1, ImageRef: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	ep := old.Endpoints()[0].Impl.(*Endpoint)
	if err := ep.BuildAndRunInstance(ctx(t), rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in3), PowerOn: &off}); err != nil {
		t.Fatal(err)
	}
	got3, _ := store.GetInstance(ctx(t), in3.UUID)
	wantState(t, got3, states.VMActive, states.TaskNone, states.PowerRunning)
}
