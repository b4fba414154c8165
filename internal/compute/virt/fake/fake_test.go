package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/pkg/clock/clocktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func newDriver(t *testing.T, opts Options) (*Driver, *clocktest.Fake) {
	t.Helper()
	clk := clocktest.New(clocktest.Epoch)
	opts.Clock = clk
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	d := New(opts)
	if err := d.InitHost(ctx, "compute-1"); err != nil {
		t.Fatalf("InitHost: %v", err)
	}
	return d, clk
}

func spec(n, vcpus, mem, disk int) virt.InstanceSpec {
	return virt.InstanceSpec{
		UUID:     fmt.Sprintf("00000000-0000-0000-0000-%012d", n),
		Name:     fmt.Sprintf("instance-%08x", n),
		Flavor:   virt.Flavor{Name: "test", VCPUs: vcpus, MemoryMB: mem, RootGB: disk},
		ImageRef: "cirros",
	}
}

func mustSpawn(t *testing.T, d *Driver, s virt.InstanceSpec) {
	t.Helper()
	if err := d.Spawn(ctx, s); err != nil {
		t.Fatalf("Spawn %s: %v", s.Name, err)
	}
}

func state(t *testing.T, d *Driver, uuid string) states.PowerState {
	t.Helper()
	info, err := d.GetInfo(ctx, uuid)
	if err != nil {
		t.Fatalf("GetInfo %s: %v", uuid, err)
	}
	return info.State
}

func console(t *testing.T, d *Driver, uuid string) string {
	t.Helper()
	out, err := d.GetConsoleOutput(ctx, uuid)
	if err != nil {
		t.Fatalf("GetConsoleOutput: %v", err)
	}
	return out
}

func resources(t *testing.T, d *Driver) virt.Resources {
	t.Helper()
	r, err := d.GetAvailableResource(ctx)
	if err != nil {
		t.Fatalf("GetAvailableResource: %v", err)
	}
	return r
}

func TestSpawnListAndInfo(t *testing.T) {
	d, _ := newDriver(t, Options{})
	b, a := spec(2, 1, 512, 1), spec(1, 2, 1024, 10)
	mustSpawn(t, d, b)
	mustSpawn(t, d, a)

	names, _ := d.ListInstances(ctx)
	uuids, _ := d.ListInstanceUUIDs(ctx)
	if strings.Join(names, ",") != a.Name+","+b.Name {
		t.Fatalf("ListInstances = %v, want sorted [%s %s]", names, a.Name, b.Name)
	}
	if strings.Join(uuids, ",") != a.UUID+","+b.UUID {
		t.Fatalf("ListInstanceUUIDs = %v", uuids)
	}
	ia, _ := d.GetInfo(ctx, a.UUID)
	ib, _ := d.GetInfo(ctx, b.UUID)
	if ia.State != states.PowerRunning || ia.InternalID == "" || ia.InternalID == ib.InternalID {
		t.Fatalf("GetInfo = %+v / %+v: want running with distinct internal ids", ia, ib)
	}

	err := d.Spawn(ctx, a)
	var exists *virt.InstanceExistsError
	if !errors.As(err, &exists) || exists.UUID != a.UUID || exists.Name != a.Name {
		t.Fatalf("second Spawn = %v, want InstanceExistsError for %s", err, a.UUID)
	}
	if err := d.Spawn(ctx, virt.InstanceSpec{Name: "x"}); err == nil {
		t.Fatal("Spawn of a spec without uuid succeeded")
	}
}

func TestConsoleRecordsEventsWithTimestamps(t *testing.T) {
	d, clk := newDriver(t, Options{})
	s := spec(1, 1, 512, 1)
	mustSpawn(t, d, s)
	clk.Advance(90 * time.Second)
	if err := d.Reboot(ctx, s.UUID, virt.RebootSoft); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := d.Reboot(ctx, s.UUID, virt.RebootHard); err != nil {
		t.Fatal(err)
	}
	want := `[2026-01-02T03:04:05.000000Z] spawning instance-00000001 from image "cirros": 1 vcpus, 512 MB memory, 1 GB disk
[2026-01-02T03:04:05.000000Z] instance-00000001 is running
[2026-01-02T03:05:35.000000Z] soft reboot requested
[2026-01-02T03:05:35.000000Z] instance-00000001 is running
[2026-01-02T03:05:36.000000Z] hard reboot
[2026-01-02T03:05:36.000000Z] instance-00000001 is running
`
	if got := console(t, d, s.UUID); got != want {
		t.Fatalf("console:\n%s\nwant:\n%s", got, want)
	}
}

func TestConsoleIsCapped(t *testing.T) {
	d, _ := newDriver(t, Options{ConsoleLines: 3})
	s := spec(1, 1, 1, 1)
	mustSpawn(t, d, s)
	for i := 0; i < 5; i++ {
		if err := d.Reboot(ctx, s.UUID, virt.RebootHard); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(console(t, d, s.UUID), "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[2], "is running") || strings.Contains(lines[0], "spawning") {
		t.Fatalf("capped console = %q, want the last 3 lines", lines)
	}
}

func TestRebootAndPower(t *testing.T) {
	d, clk := newDriver(t, Options{})
	s := spec(1, 2, 2048, 20)
	mustSpawn(t, d, s)

	if err := d.PowerOff(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	if st := state(t, d, s.UUID); st != states.PowerShutdown {
		t.Fatalf("after PowerOff: %v", st)
	}
	// A soft reboot of a stopped instance falls back to a hard one.
	if err := d.Reboot(ctx, s.UUID, virt.RebootSoft); err != nil {
		t.Fatal(err)
	}
	if st := state(t, d, s.UUID); st != states.PowerRunning {
		t.Fatalf("after soft reboot of a stopped instance: %v", st)
	}
	if !strings.Contains(console(t, d, s.UUID), "soft reboot of a shutdown instance failed, falling back to hard reboot") {
		t.Fatal("fallback not on the console")
	}
	if err := d.PowerOff(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := d.PowerOn(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	if st := state(t, d, s.UUID); st != states.PowerRunning {
		t.Fatalf("after PowerOn: %v", st)
	}
	clk.Advance(42 * time.Second)
	diag, err := d.GetDiagnostics(ctx, s.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diag.UptimeSeconds != 42 {
		t.Fatalf("uptime after PowerOn = %d, want 42 (from the boot, not the spawn)", diag.UptimeSeconds)
	}
	if err := d.Reboot(ctx, s.UUID, "WARM"); err == nil {
		t.Fatal("Reboot with an unknown type succeeded")
	}
}

func TestDiagnostics(t *testing.T) {
	d, clk := newDriver(t, Options{})
	s := spec(1, 2, 2048, 20)
	mustSpawn(t, d, s)
	clk.Advance(5 * time.Minute)
	diag, err := d.GetDiagnostics(ctx, s.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diag.State != "running" || diag.Driver != "fake" || diag.UptimeSeconds != 300 ||
		diag.NumCPUs != 2 || len(diag.CPUDetails) != 2 || diag.CPUDetails[1].ID != 1 ||
		diag.MemoryDetails.Maximum != 2048 || diag.NumDisks != len(diag.DiskDetails) ||
		diag.NumNICs != len(diag.NICDetails) {
		t.Fatalf("diagnostics = %+v", diag)
	}
	if err := d.Crash(s.UUID); err != nil {
		t.Fatal(err)
	}
	diag, _ = d.GetDiagnostics(ctx, s.UUID)
	if diag.State != "crashed" || diag.UptimeSeconds != 0 {
		t.Fatalf("diagnostics of a crashed instance = state %q uptime %d", diag.State, diag.UptimeSeconds)
	}
}

func TestResourcesAndCapacity(t *testing.T) {
	d, _ := newDriver(t, Options{VCPUs: 4, MemoryMB: 4096, LocalGB: 40})
	mustSpawn(t, d, spec(1, 2, 1024, 10))
	mustSpawn(t, d, spec(2, 1, 1024, 10))
	if err := d.PowerOff(ctx, spec(2, 0, 0, 0).UUID); err != nil {
		t.Fatal(err)
	}
	got := resources(t, d)
	want := virt.Resources{
		VCPUs: 4, MemoryMB: 4096, LocalGB: 40,
		VCPUsUsed: 3, MemoryMBUsed: 2048, LocalGBUsed: 20, DiskAvailableLeast: 20,
		HypervisorType: "fake", HypervisorVersion: 1000, HypervisorHostname: "compute-1", CPUInfo: CPUInfo(4),
	}
	if got != want {
		t.Fatalf("resources = %+v\nwant        %+v (a stopped instance keeps its resources)", got, want)
	}

	for _, tc := range []struct {
		s        virt.InstanceSpec
		resource string
		free     int
	}{
		{spec(3, 2, 1, 1), "vcpus", 1},
		{spec(4, 1, 4000, 1), "memory_mb", 2048},
		{spec(5, 1, 1, 21), "local_gb", 20},
	} {
		err := d.Spawn(ctx, tc.s)
		var ins *virt.InsufficientResourcesError
		if !errors.As(err, &ins) || ins.Resource != tc.resource || ins.Free != tc.free {
			t.Fatalf("Spawn %+v = %v, want insufficient %s with %d free", tc.s.Flavor, err, tc.resource, tc.free)
		}
		if _, err := d.GetInfo(ctx, tc.s.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
			t.Fatalf("refused spawn left an instance behind: %v", err)
		}
	}

	if err := d.Destroy(ctx, spec(1, 0, 0, 0).UUID); err != nil {
		t.Fatal(err)
	}
	mustSpawn(t, d, spec(3, 2, 1, 1)) // fits once the first is gone
	if r := resources(t, d); r.VCPUsUsed != 3 {
		t.Fatalf("vcpus_used after destroy and spawn = %d, want 3", r.VCPUsUsed)
	}
}

func TestNodeNameAndInitHost(t *testing.T) {
	d, _ := newDriver(t, Options{NodeName: "node-a"})
	if r := resources(t, d); r.HypervisorHostname != "node-a" {
		t.Fatalf("hypervisor_hostname = %q, want node-a", r.HypervisorHostname)
	}
	if err := New(Options{}).InitHost(ctx, ""); err == nil {
		t.Fatal("InitHost with an empty host succeeded")
	}
	if r, _ := New(Options{}).GetAvailableResource(ctx); r.VCPUs != DefaultVCPUs || r.MemoryMB != DefaultMemoryMB || r.LocalGB != DefaultLocalGB {
		t.Fatalf("default capacity = %+v", r)
	}
}

func TestDestroyIsIdempotent(t *testing.T) {
	d, _ := newDriver(t, Options{})
	s := spec(1, 1, 1, 1)
	mustSpawn(t, d, s)
	for i := 0; i < 2; i++ {
		if err := d.Destroy(ctx, s.UUID); err != nil {
			t.Fatalf("Destroy #%d: %v", i+1, err)
		}
	}
	if uuids, _ := d.ListInstanceUUIDs(ctx); len(uuids) != 0 {
		t.Fatalf("instances after destroy: %v", uuids)
	}
}

func TestUnknownInstance(t *testing.T) {
	d, _ := newDriver(t, Options{})
	const id = "missing"
	calls := map[string]func() error{
		"GetInfo":          func() error { _, err := d.GetInfo(ctx, id); return err },
		"GetConsoleOutput": func() error { _, err := d.GetConsoleOutput(ctx, id); return err },
		"GetDiagnostics":   func() error { _, err := d.GetDiagnostics(ctx, id); return err },
		"Reboot":           func() error { return d.Reboot(ctx, id, virt.RebootHard) },
		"PowerOff":         func() error { return d.PowerOff(ctx, id) },
		"PowerOn":          func() error { return d.PowerOn(ctx, id) },
		"Crash":            func() error { return d.Crash(id) },
		"SetPowerState":    func() error { return d.SetPowerState(id, states.PowerPaused) },
		"Vanish":           func() error { return d.Vanish(id) },
	}
	for name, call := range calls {
		var nf *virt.InstanceNotFoundError
		if err := call(); !errors.As(err, &nf) || nf.UUID != id {
			t.Errorf("%s of an unknown instance = %v, want InstanceNotFoundError", name, err)
		}
	}
}

func TestDoneContextIsRefused(t *testing.T) {
	d, _ := newDriver(t, Options{})
	s := spec(1, 1, 1, 1)
	mustSpawn(t, d, s)
	done, cancel := context.WithCancel(ctx)
	cancel()
	calls := map[string]func() error{
		"InitHost":  func() error { return d.InitHost(done, "h") },
		"List":      func() error { _, err := d.ListInstances(done); return err },
		"Spawn":     func() error { return d.Spawn(done, spec(2, 1, 1, 1)) },
		"Destroy":   func() error { return d.Destroy(done, s.UUID) },
		"Reboot":    func() error { return d.Reboot(done, s.UUID, virt.RebootHard) },
		"GetInfo":   func() error { _, err := d.GetInfo(done, s.UUID); return err },
		"Resources": func() error { _, err := d.GetAvailableResource(done); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a done context = %v, want context.Canceled", name, err)
		}
	}
	if st := state(t, d, s.UUID); st != states.PowerRunning {
		t.Fatalf("refused calls changed the instance: %v", st)
	}
}

func TestSimulations(t *testing.T) {
	d, _ := newDriver(t, Options{VCPUs: 2})
	a, b := spec(1, 1, 1, 1), spec(2, 1, 1, 1)
	mustSpawn(t, d, a)
	mustSpawn(t, d, b)

	if err := d.Crash(a.UUID); err != nil {
		t.Fatal(err)
	}
	if st := state(t, d, a.UUID); st != states.PowerCrashed {
		t.Fatalf("after Crash: %v", st)
	}
	if !strings.Contains(console(t, d, a.UUID), "Kernel panic") {
		t.Fatal("crash not on the console")
	}
	if err := d.SetPowerState(a.UUID, states.PowerPaused); err != nil {
		t.Fatal(err)
	}
	if st := state(t, d, a.UUID); st != states.PowerPaused {
		t.Fatalf("after SetPowerState(PAUSED): %v", st)
	}
	if err := d.SetPowerState(a.UUID, states.PowerState(2)); err == nil {
		t.Fatal("SetPowerState accepted a retired state")
	}

	if err := d.Vanish(b.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetInfo(ctx, b.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Fatalf("GetInfo of a vanished instance = %v", err)
	}
	if uuids, _ := d.ListInstanceUUIDs(ctx); len(uuids) != 1 || uuids[0] != a.UUID {
		t.Fatalf("instances after Vanish = %v", uuids)
	}
	mustSpawn(t, d, spec(3, 1, 1, 1)) // the vanished instance's vcpu is free again
}

func TestSpawnDelayInFlight(t *testing.T) {
	d, clk := newDriver(t, Options{SpawnDelay: 30 * time.Second, VCPUs: 2})
	s := spec(1, 2, 1, 1)
	errc := make(chan error, 1)
	go func() { errc <- d.Spawn(ctx, s) }()
	waitTimer(t, clk)

	// While spawning: listed, pending, holding its resources, not rebootable.
	if st := state(t, d, s.UUID); st != states.PowerNoState {
		t.Fatalf("state while spawning = %v, want pending", st)
	}
	if r := resources(t, d); r.VCPUsUsed != 2 {
		t.Fatalf("vcpus_used while spawning = %d, want 2 (reserved)", r.VCPUsUsed)
	}
	if err := d.Spawn(ctx, spec(2, 1, 1, 1)); !errors.Is(err, virt.ErrInsufficientResources) {
		t.Fatalf("spawn into reserved capacity = %v", err)
	}
	if err := d.Spawn(ctx, s); !errors.Is(err, virt.ErrInstanceExists) {
		t.Fatalf("duplicate spawn while spawning = %v", err)
	}
	if err := d.Reboot(ctx, s.UUID, virt.RebootHard); !errors.Is(err, virt.ErrInvalidState) {
		t.Fatalf("reboot while spawning = %v, want ErrInvalidState", err)
	}
	if err := d.Crash(s.UUID); !errors.Is(err, virt.ErrInvalidState) {
		t.Fatalf("crash while spawning = %v, want ErrInvalidState", err)
	}

	clk.Advance(30 * time.Second)
	if err := <-errc; err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	if st := state(t, d, s.UUID); st != states.PowerRunning {
		t.Fatalf("state after the delay = %v", st)
	}
	if !strings.Contains(console(t, d, s.UUID), "[2026-01-02T03:04:35.000000Z] instance-00000001 is running") {
		t.Fatalf("console lacks the boot at the end of the delay:\n%s", console(t, d, s.UUID))
	}
}

func TestSpawnDelayCancelled(t *testing.T) {
	d, clk := newDriver(t, Options{SpawnDelay: time.Minute})
	s := spec(1, 4, 1, 1)
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- d.Spawn(sctx, s) }()
	waitTimer(t, clk)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Spawn = %v, want context.Canceled", err)
	}
	if _, err := d.GetInfo(ctx, s.UUID); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Fatalf("cancelled spawn left the instance: %v", err)
	}
	if r := resources(t, d); r.VCPUsUsed != 0 {
		t.Fatalf("cancelled spawn kept its reservation: %+v", r)
	}
	if clk.Timers() != 0 {
		t.Fatal("cancelled spawn left its timer armed")
	}
}

func TestDestroyDuringSpawn(t *testing.T) {
	d, clk := newDriver(t, Options{SpawnDelay: time.Minute})
	s := spec(1, 1, 1, 1)
	errc := make(chan error, 1)
	go func() { errc <- d.Spawn(ctx, s) }()
	waitTimer(t, clk)
	if err := d.Destroy(ctx, s.UUID); err != nil {
		t.Fatal(err)
	}
	// A new spawn of the same uuid may start at once; the old one must not
	// take it over when its delay ends.
	errc2 := make(chan error, 1)
	go func() { errc2 <- d.Spawn(ctx, s) }()
	if err := clk.WaitForTimers(waitCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := <-errc; !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Fatalf("Spawn of an instance destroyed mid-spawn = %v, want not found", err)
	}
	if err := <-errc2; err != nil {
		t.Fatalf("second Spawn = %v", err)
	}
	if st := state(t, d, s.UUID); st != states.PowerRunning {
		t.Fatalf("state = %v", st)
	}
}

func TestConcurrentSpawnsNeverOvercommit(t *testing.T) {
	d, _ := newDriver(t, Options{VCPUs: 10})
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		ok, refused, other int
	)
	for i := 1; i <= 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := spec(i, 1, 1, 1)
			err := d.Spawn(ctx, s)
			// Readers and writers in parallel, for the race detector.
			_, _ = d.ListInstances(ctx)
			_, _ = d.GetAvailableResource(ctx)
			if err == nil {
				_ = d.Reboot(ctx, s.UUID, virt.RebootSoft)
				_, _ = d.GetConsoleOutput(ctx, s.UUID)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, virt.ErrInsufficientResources):
				refused++
			default:
				other++
			}
		}()
	}
	wg.Wait()
	if ok != 10 || refused != 40 || other != 0 {
		t.Fatalf("spawned %d, refused %d, other errors %d; want 10, 40, 0", ok, refused, other)
	}
	if r := resources(t, d); r.VCPUsUsed != 10 {
		t.Fatalf("vcpus_used = %d, want 10", r.VCPUsUsed)
	}
}

func waitTimer(t *testing.T, clk *clocktest.Fake) {
	t.Helper()
	if err := clk.WaitForTimers(waitCtx(t), 1); err != nil {
		t.Fatalf("Spawn armed no delay timer: %v", err)
	}
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// Allocation ratios let the fake overcommit as the claims allow.
func TestAllocationRatiosOvercommit(t *testing.T) {
	d, _ := newDriver(t, Options{VCPUs: 2, CPUAllocationRatio: 2.5})
	ctx := context.Background()
	for i := range 5 {
		err := d.Spawn(ctx, virt.InstanceSpec{UUID: fmt.Sprintf("u-%d", i), Name: fmt.Sprintf("instance-%d", i), Flavor: virt.Flavor{VCPUs: 1}})
		if err != nil {
			t.Fatalf("spawn %d of floor(2 x 2.5) = 5: %v", i, err)
		}
	}
	err := d.Spawn(ctx, virt.InstanceSpec{UUID: "u-6", Name: "instance-6", Flavor: virt.Flavor{VCPUs: 1}})
	if !errors.Is(err, virt.ErrInsufficientResources) {
		t.Fatalf("a sixth: %v", err)
	}
}
