package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// compute is one nova-compute as pkg/service would run it: a manager whose
// Endpoints are served by an RPC server on Target{compute, host}.
type compute struct {
	m   *ComputeManager
	drv *fake.Driver
	srv *rpcsvc.Server
}

func startCompute(t *testing.T, tr *rpcsvc.Transport, store computedb.Store, hostName string, fo fake.Options) *compute {
	t.Helper()
	c := context.Background()
	fo.Logger = quiet
	drv := fake.New(fo)
	m, err := New(Options{Host: hostName, Driver: drv, Store: store, Logger: quiet, Clock: fo.Clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitHost(c); err != nil {
		t.Fatal(err)
	}
	if err := m.PreStartHook(c, registry.Service{ID: 42, Host: hostName}); err != nil {
		t.Fatal(err)
	}
	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{Target: rpcsvc.Target{Topic: rpcapi.Topic, Server: hostName}, Endpoints: m.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(c); err != nil {
		t.Fatal(err)
	}
	cp := &compute{m: m, drv: drv, srv: srv}
	t.Cleanup(func() { cp.stop(t) })
	return cp
}

// stop stops the compute in pkg/service's order: RPC consumption first, then
// the manager's in-flight work.
func (cp *compute) stop(t *testing.T) {
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cp.srv.Stop(sctx); err != nil {
		t.Error(err)
	}
	if err := cp.m.Shutdown(sctx); err != nil {
		t.Error(err)
	}
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 15s; last: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestComputeOverRPCAndPostgres(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := computedb.NewPG(pool)
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tr, err := rpcsvc.Open(c, rpcsvc.Options{
		TransportURL:    "memory://" + testenv.UniqueName("compute_mgr_"),
		ControlExchange: testenv.UniqueName("compute_x_"),
		ResponseTimeout: 10 * time.Second,
		Logger:          quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	cmp := startCompute(t, tr, store, "h1", fake.Options{VCPUs: 4, MemoryMB: 8192, LocalGB: 80})
	api, err := rpcapi.New(tr, rpcapi.Options{VersionCap: "6.0", CallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	// PreStartHook published the node with the service id.
	nodes, err := store.ListNodes(c)
	if err != nil || len(nodes) != 1 || nodes[0].ServiceID != 42 || nodes[0].Host != "h1" || nodes[0].VCPUs != 4 ||
		nodes[0].FreeRAMMB != 8192 || nodes[0].HypervisorType != "fake" {
		t.Fatalf("compute nodes after PreStartHook = %+v, %v", nodes, err)
	}

	create := func(vcpus int) computedb.Instance {
		t.Helper()
		in, err := store.CreateInstance(c, computedb.Instance{UUID: newUUID(), DisplayName: "vm", ProjectID: "p", UserID: "u",
			Host: "h1", VMState: states.VMBuilding, TaskState: states.TaskScheduling, FlavorID: "1", VCPUs: vcpus, MemoryMB: 512, RootGB: 1, ImageRef: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	waitFor := func(id string, vm states.VMState, task states.TaskState, power states.PowerState) {
		t.Helper()
		eventually(t, "instance "+id+" in "+string(vm), func() (bool, string) {
			in, err := store.GetInstance(c, id)
			if err != nil {
				return false, err.Error()
			}
			return in.VMState == vm && in.TaskState == task && in.PowerState == power,
				string(in.VMState) + "/" + string(in.TaskState) + "/" + in.PowerState.String()
		})
	}

	// Build.
	in := create(2)
	if err := api.BuildAndRunInstance(c, "h1", rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in)}); err != nil {
		t.Fatal(err)
	}
	waitFor(in.UUID, states.VMActive, states.TaskNone, states.PowerRunning)
	if got, _ := store.GetInstance(c, in.UUID); got.LaunchedAt == nil || got.Node != "h1" {
		t.Fatalf("built instance: %+v", got)
	}

	// Reboot (as nova-api does it: task state first, then the cast).
	if _, err := store.UpdateInstance(c, in.UUID, computedb.InstanceUpdate{TaskState: ptr(states.TaskRebootingHard), ExpectTaskState: ptr(states.TaskNone)}); err != nil {
		t.Fatal(err)
	}
	if err := api.RebootInstance(c, "h1", in.UUID, "HARD"); err != nil {
		t.Fatal(err)
	}
	waitFor(in.UUID, states.VMActive, states.TaskNone, states.PowerRunning)

	// Console output is a call; the reboot is its last lines.
	out, err := api.GetConsoleOutput(c, "h1", in.UUID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 2 ||
		!strings.HasSuffix(lines[0], "hard reboot") || !strings.HasSuffix(lines[1], "is running") {
		t.Fatalf("console tail 2 = %q", out)
	}
	diag, err := api.GetDiagnostics(c, "h1", in.UUID)
	if err != nil || diag.NumCPUs != 2 || diag.State != "running" {
		t.Fatalf("diagnostics = %+v, %v", diag, err)
	}
	if _, err := api.GetConsoleOutput(c, "h1", newUUID(), -1); !errors.Is(err, rpcapi.ErrInstanceNotFound) {
		t.Fatalf("console of an unknown instance over RPC = %v", err)
	}

	// A build the driver refuses: 8 vcpus on a 4-vcpu host (2 in use).
	bad := create(8)
	if err := api.BuildAndRunInstance(c, "h1", rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(bad)}); err != nil {
		t.Fatal(err)
	}
	waitFor(bad.UUID, states.VMError, states.TaskNone, states.PowerNoState)

	// Terminate.
	if _, err := store.UpdateInstance(c, in.UUID, computedb.InstanceUpdate{TaskState: ptr(states.TaskDeleting)}); err != nil {
		t.Fatal(err)
	}
	if err := api.TerminateInstance(c, "h1", in.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "row gone after terminate", func() (bool, string) {
		_, err := store.GetInstance(c, in.UUID)
		return errors.Is(err, computedb.ErrNotFound), "err=" + errString(err)
	})
	if g, _ := cmp.drv.ListInstanceUUIDs(c); len(g) != 0 {
		t.Fatalf("guests after terminate: %v", g)
	}

	// The periodic resource update sees what is left: nothing, as the
	// errored instance was refused by the claim and holds no resources.
	if err := cmp.m.UpdateAvailableResource(c); err != nil {
		t.Fatal(err)
	}
	nodes, _ = store.ListNodes(c)
	if len(nodes) != 1 || nodes[0].RunningVMs != 0 || nodes[0].VCPUsUsed != 0 || nodes[0].ServiceID != 42 {
		t.Fatalf("compute node after the work = %+v", nodes)
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestShutdownWaitsForSlowSpawnOverRPC(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := computedb.NewPG(pool)
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := rpcsvc.Open(c, rpcsvc.Options{
		TransportURL:    "memory://" + testenv.UniqueName("compute_mgr_"),
		ControlExchange: testenv.UniqueName("compute_x_"),
		Logger:          quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	clk := clocktest.New(clocktest.Epoch)
	cmp := startCompute(t, tr, store, "h2", fake.Options{SpawnDelay: 30 * time.Second, Clock: clk})
	api, err := rpcapi.New(tr, rpcapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := store.CreateInstance(c, computedb.Instance{UUID: newUUID(), Host: "h2", VMState: states.VMBuilding,
		TaskState: states.TaskScheduling, VCPUs: 1, MemoryMB: 64, RootGB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.BuildAndRunInstance(c, "h2", rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(in)}); err != nil {
		t.Fatal(err)
	}
	if err := clk.WaitForTimers(c, 1); err != nil {
		t.Fatal("the spawn never started:", err)
	}
	if got, _ := store.GetInstance(c, in.UUID); got.TaskState != states.TaskSpawning {
		t.Fatalf("task state during the spawn = %q", got.TaskState)
	}

	stopped := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- cmp.m.Shutdown(sctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned with the spawn in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	clk.Advance(30 * time.Second)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Shutdown did not return once the spawn finished")
	}
	got, err := store.GetInstance(c, in.UUID)
	if err != nil || got.VMState != states.VMActive || got.TaskState != states.TaskNone {
		t.Fatalf("instance after the drained spawn = %+v, %v", got, err)
	}
}
