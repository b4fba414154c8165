package computeapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
)

func TestNewRequiresItsStoresAndRPC(t *testing.T) {
	e := newEnv(t, memBackend)
	for name, o := range map[string]Options{
		"no services": {Compute: e.compute, RPC: &recorder{}},
		"no compute":  {Services: e.services, RPC: &recorder{}},
		"no rpc":      {Services: e.services, Compute: e.compute},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a := e.api(&recorder{})
	if a.ServiceDownTime() != 60*time.Second {
		t.Errorf("default service_down_time %v, want nova's 60 s", a.ServiceDownTime())
	}
}

// A boot, a hard reboot, the console and a delete against a real compute
// (manager and fake driver behind an RPC server on memory://).
func TestLifecycleOnARealCompute(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(e.startCompute("c1"))
		get := func(id string) computedb.Instance {
			t.Helper()
			in, err := a.Get(ctx, alice, id)
			if err != nil {
				t.Fatal(err)
			}
			return in
		}
		waitFor := func(id string, vm states.VMState, task states.TaskState) {
			t.Helper()
			eventually(t, "instance "+id+" "+string(vm), func() (bool, string) {
				in, err := e.compute.GetInstance(ctx, id)
				if err != nil {
					return false, err.Error()
				}
				return in.VMState == vm && in.TaskState == task, string(in.VMState) + "/" + string(in.TaskState)
			})
		}

		in, err := a.Create(ctx, alice, CreateRequest{Name: "web-1", Flavor: small, ImageRef: imageID, Metadata: map[string]string{"role": "web"}})
		if err != nil {
			t.Fatal(err)
		}
		if in.Host != "c1" || in.ProjectID != "proj-a" || in.UserID != "alice" || in.DisplayName != "web-1" ||
			in.MemoryMB != 2048 || in.FlavorID != "2" || in.ImageRef != imageID || in.Metadata["role"] != "web" {
			t.Fatalf("created %+v", in)
		}
		waitFor(in.UUID, states.VMActive, states.TaskNone)
		in = get(in.UUID)
		if in.PowerState != states.PowerRunning || in.LaunchedAt == nil || states.ServerStatus(in.VMState, in.TaskState) != states.StatusActive {
			t.Fatalf("built %+v", in)
		}

		if err := a.Reboot(ctx, alice, RebootRequest{Instance: in, Type: virt.RebootHard}); err != nil {
			t.Fatal(err)
		}
		waitFor(in.UUID, states.VMActive, states.TaskNone)

		out, err := a.GetConsoleOutput(ctx, alice, ConsoleOutputRequest{Instance: get(in.UUID)})
		if err != nil || out == "" {
			t.Fatalf("console = %q, %v", out, err)
		}
		one := 1
		if last, err := a.GetConsoleOutput(ctx, alice, ConsoleOutputRequest{Instance: get(in.UUID), Length: &one}); err != nil ||
			strings.Count(strings.TrimSuffix(last, "\n"), "\n") != 0 || !strings.HasSuffix(out, last) {
			t.Fatalf("last line = %q, %v (whole log %q)", last, err, out)
		}

		if err := a.Delete(ctx, alice, get(in.UUID)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "instance deleted by its compute", func() (bool, string) {
			_, err := e.compute.GetInstance(ctx, in.UUID)
			return errors.Is(err, computedb.ErrNotFound), "get: " + errString(err)
		})
		_, err = a.Get(ctx, alice, in.UUID)
		var nf *InstanceNotFoundError
		if !errors.As(err, &nf) || nf.UUID != in.UUID {
			t.Fatalf("get after delete: %v", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestCreatePlacesAndCasts(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		e.addNode("small", 1, 1024, 10)
		e.addNode("big", 8, 16384, 200)

		in, err := a.Create(ctx, alice, boot("web-1", small))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := e.compute.GetInstance(ctx, in.UUID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Host != "big" || stored.Node != "big.node" || stored.VMState != states.VMBuilding ||
			stored.TaskState != states.TaskScheduling || in.Host != "big" {
			t.Errorf("stored %+v, returned %+v", stored, in)
		}
		if c := rec.Calls(); len(c) != 1 || c[0].Method != rpcapi.MethodBuildAndRunInstance || c[0].Host != "big" || c[0].UUID != in.UUID {
			t.Errorf("casts %+v", c)
		}
	})
}

func TestCreateWithoutAHostRecordsNoValidHost(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		e.addNode("c1", 1, 1024, 10)
		in, err := a.Create(ctx, alice, boot("huge", small)) // 2 GiB on a 1 GiB host
		if err != nil {
			t.Fatalf("NoValidHost is not an error of the request: %v", err)
		}
		got, _ := e.compute.GetInstance(ctx, in.UUID)
		if got.VMState != states.VMError || got.TaskState != states.TaskNone || got.Host != "" || got.Fault == nil ||
			got.Fault.Code != 500 || !strings.HasPrefix(got.Fault.Message, "No valid host was found.") {
			t.Fatalf("instance %+v fault %+v", got, got.Fault)
		}
		if in.VMState != states.VMError || in.Fault == nil {
			t.Errorf("Create returned %+v, not the instance as it left it", in)
		}
		if len(rec.Calls()) != 0 {
			t.Error("nothing may be cast without a host")
		}
	})
}

func TestCreateWhoseCastFailsGoesToError(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(&recorder{err: errors.New("broker unreachable")})
		e.addNode("c1", 8, 16384, 100)
		in, err := a.Create(ctx, alice, boot("vm", tiny))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := e.compute.GetInstance(ctx, in.UUID)
		if got.VMState != states.VMError || got.Fault == nil ||
			got.Fault.Message != "Could not send the build request to host c1: broker unreachable" {
			t.Fatalf("instance %+v fault %+v", got, got.Fault)
		}
		// An instance in ERROR holds no resources.
		if nodes, _ := e.compute.ListNodes(ctx); len(nodes) != 1 || nodes[0].VCPUsUsed != 0 || nodes[0].RunningVMs != 0 {
			t.Fatalf("the failed boot kept its claim: %+v", nodes)
		}
	})
}

func TestGetAndListAreScopedToTheProject(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(&recorder{})
		e.addNode("c1", 64, 1<<20, 10000)
		var mine []string
		for _, n := range []string{"a1", "a2", "a3"} {
			in, err := a.Create(ctx, alice, boot(n, tiny))
			if err != nil {
				t.Fatal(err)
			}
			mine = append(mine, in.UUID)
			time.Sleep(2 * time.Millisecond) // distinct created_at for a stable order
		}
		theirs, err := a.Create(ctx, bob, boot("b1", tiny))
		if err != nil {
			t.Fatal(err)
		}

		var nf *InstanceNotFoundError
		if _, err := a.Get(ctx, alice, theirs.UUID); !errors.As(err, &nf) || nf.UUID != theirs.UUID ||
			err.Error() != "Instance "+theirs.UUID+" could not be found." || !errors.Is(err, ErrInstanceNotFound) {
			t.Errorf("another project's instance: %v", err)
		}
		if _, err := a.Get(ctx, alice, "not-a-uuid"); !errors.As(err, &nf) || nf.UUID != "not-a-uuid" {
			t.Errorf("a bad id: %v", err)
		}
		if in, err := a.Get(ctx, admin, theirs.UUID); err != nil || in.ProjectID != "proj-b" {
			t.Errorf("admin get = %+v, %v", in, err)
		}

		list, err := a.List(ctx, alice, ListRequest{})
		if err != nil || len(list) != 3 || list[0].UUID != mine[2] || list[2].UUID != mine[0] {
			t.Fatalf("alice's list = %d, %v", len(list), err)
		}
		page, err := a.List(ctx, alice, ListRequest{Limit: 2, Marker: mine[2]})
		if err != nil || len(page) != 2 || page[0].UUID != mine[1] {
			t.Fatalf("page after %s = %d, %v", mine[2], len(page), err)
		}
		if all, err := a.List(ctx, admin, ListRequest{AllProjects: true}); err != nil || len(all) != 4 {
			t.Fatalf("all projects = %d, %v", len(all), err)
		}
		if own, err := a.List(ctx, admin, ListRequest{}); err != nil || len(own) != 0 {
			t.Fatalf("admin's own project = %d, %v", len(own), err)
		}
		if none, err := a.List(ctx, Caller{UserID: "nobody"}, ListRequest{}); err != nil || len(none) != 0 {
			t.Fatalf("a caller without a project sees %d, %v", len(none), err)
		}
		const missing = "6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00"
		var mk *MarkerNotFoundError
		if _, err := a.List(ctx, alice, ListRequest{Marker: missing}); !errors.As(err, &mk) ||
			err.Error() != "marker ["+missing+"] not found" || !errors.Is(err, ErrMarkerNotFound) {
			t.Fatalf("unknown marker: %v", err)
		}
	})
}

func TestDeleteIsLocalWhenTheComputeIsDownOrGone(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		c1 := e.addNode("c1", 64, 1<<20, 10000)
		gone := func(id string) bool {
			_, err := e.compute.GetInstance(ctx, id)
			return errors.Is(err, computedb.ErrNotFound)
		}

		// up: deleting, and terminate_instance cast to the host
		in, _ := a.Create(ctx, alice, boot("vm", tiny))
		if err := a.Delete(ctx, alice, in); err != nil {
			t.Fatal(err)
		}
		got, err := e.compute.GetInstance(ctx, in.UUID)
		if err != nil || got.TaskState != states.TaskDeleting {
			t.Fatalf("after delete on an up host: %+v, %v", got, err)
		}
		calls := rec.Calls()
		if last := calls[len(calls)-1]; last.Method != rpcapi.MethodTerminateInstance || last.Host != "c1" || last.UUID != in.UUID {
			t.Errorf("last cast %+v", last)
		}

		// no host: deleted here
		orphan, err := e.compute.CreateInstance(ctx, computedb.Instance{DisplayName: "orphan", ProjectID: "proj-a", VMState: states.VMError})
		if err != nil {
			t.Fatal(err)
		}
		n := len(rec.Calls())
		if err := a.Delete(ctx, alice, orphan); err != nil || !gone(orphan.UUID) {
			t.Errorf("hostless instance: %v, gone %v", err, gone(orphan.UUID))
		}

		// a host without a compute service: deleted here
		stray, err := e.compute.CreateInstance(ctx, computedb.Instance{DisplayName: "stray", ProjectID: "proj-a", Host: "nowhere"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Delete(ctx, alice, stray); err != nil || !gone(stray.UUID) {
			t.Errorf("instance on an unknown host: %v, gone %v", err, gone(stray.UUID))
		}
		if len(rec.Calls()) != n {
			t.Errorf("casts for local deletes: %+v", rec.Calls()[n:])
		}

		// a down host: deleted here
		in, _ = a.Create(ctx, alice, boot("vm", tiny))
		n = len(rec.Calls())
		e.makeDown(c1)
		if err := a.Delete(ctx, alice, in); err != nil || !gone(in.UUID) {
			t.Errorf("instance on a down host: %v, gone %v", err, gone(in.UUID))
		}
		if len(rec.Calls()) != n {
			t.Errorf("casts to a down host: %+v", rec.Calls()[n:])
		}
		// deleted meanwhile: no error
		if err := a.Delete(ctx, alice, in); err != nil {
			t.Errorf("second local delete: %v", err)
		}
	})
}

func TestDeleteWhoseCastFailsIsAnError(t *testing.T) {
	e := newEnv(t, memBackend)
	ctx := context.Background()
	rec := &recorder{}
	a := e.api(rec)
	e.addNode("c1", 8, 16384, 100)
	in, _ := a.Create(ctx, alice, boot("vm", tiny))
	rec.err = errors.New("broker unreachable")
	if err := a.Delete(ctx, alice, in); err == nil || !strings.Contains(err.Error(), "casting terminate_instance to c1") {
		t.Fatalf("delete with a failing cast: %v", err)
	}
}

// launch makes an instance active with no task and launched_at set, as its
// compute leaves it after a build.
func (e *env) launch(t *testing.T, id string) computedb.Instance {
	t.Helper()
	active, none, now := states.VMActive, states.TaskNone, time.Now()
	in, err := e.compute.UpdateInstance(context.Background(), id, computedb.InstanceUpdate{VMState: &active, TaskState: &none, LaunchedAt: &now})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestRebootChecksTheInstanceState(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		e.addNode("c1", 64, 1<<20, 10000)
		in, _ := a.Create(ctx, alice, boot("vm", tiny))
		id := in.UUID
		reboot := func(in computedb.Instance, how virt.RebootType) error {
			return a.Reboot(ctx, alice, RebootRequest{Instance: in, Type: how})
		}
		wantInvalid := func(err error, msg string) {
			t.Helper()
			var inv *InstanceInvalidStateError
			if !errors.As(err, &inv) || !errors.Is(err, ErrInstanceInvalidState) || err.Error() != msg {
				t.Fatalf("err = %v, want InstanceInvalidState %q", err, msg)
			}
		}

		wantInvalid(reboot(in, virt.RebootSoft), "Cannot 'reboot' instance "+id+" while it is in vm_state building")
		wantInvalid(reboot(in, virt.RebootHard), "Cannot 'reboot' instance "+id+" while it is in vm_state building")
		// active but never launched
		active := states.VMActive
		none := states.TaskNone
		unlaunched, _ := e.compute.UpdateInstance(ctx, id, computedb.InstanceUpdate{VMState: &active, TaskState: &none})
		wantInvalid(reboot(unlaunched, virt.RebootSoft), "Cannot 'reboot' instance "+id+" while it is in launched_at None")

		in = e.launch(t, id)
		if err := reboot(in, virt.RebootSoft); err != nil {
			t.Fatal(err)
		}
		got, _ := e.compute.GetInstance(ctx, id)
		if got.TaskState != states.TaskRebooting || states.ServerStatus(got.VMState, got.TaskState) != states.StatusReboot {
			t.Fatalf("after a soft reboot: %+v", got)
		}
		calls := rec.Calls()
		if last := calls[len(calls)-1]; last.Method != rpcapi.MethodRebootInstance || last.Reboot != virt.RebootSoft || last.Host != "c1" {
			t.Errorf("cast %+v", last)
		}
		// a soft reboot needs no task; a hard one may interrupt a reboot
		wantInvalid(reboot(got, virt.RebootSoft), "Cannot 'reboot' instance "+id+" while it is in task_state rebooting")
		if err := reboot(got, virt.RebootHard); err != nil {
			t.Fatal(err)
		}
		// a stale read loses the compare-and-set: the current task state is reported
		wantInvalid(reboot(in, virt.RebootHard), "Cannot 'reboot' instance "+id+" while it is in task_state rebooting_hard")

		// a hard reboot may rescue an instance in error; a soft one may not
		errState := states.VMError
		broken, _ := e.compute.UpdateInstance(ctx, id, computedb.InstanceUpdate{VMState: &errState, TaskState: &none})
		wantInvalid(reboot(broken, virt.RebootSoft), "Cannot 'reboot' instance "+id+" while it is in vm_state error")
		if err := reboot(broken, virt.RebootHard); err != nil {
			t.Fatal(err)
		}

		if err := reboot(broken, "WARM"); err == nil {
			t.Error("an unknown reboot type was accepted")
		}
		// gone meanwhile
		if err := e.compute.DeleteInstance(ctx, id); err != nil {
			t.Fatal(err)
		}
		var nf *InstanceNotFoundError
		if err := reboot(e.launchedCopy(broken), virt.RebootHard); !errors.As(err, &nf) {
			t.Fatalf("reboot of a deleted instance: %v", err)
		}
	})
}

// launchedCopy is in as a reboot may start from: active, no task, launched.
func (e *env) launchedCopy(in computedb.Instance) computedb.Instance {
	now := time.Now()
	in.VMState, in.TaskState, in.LaunchedAt = states.VMActive, states.TaskNone, &now
	return in
}

func TestConsoleOutputMapsTheComputesAnswers(t *testing.T) {
	e := newEnv(t, memBackend)
	ctx := context.Background()
	rec := &recorder{console: "line1\nline2\n"}
	a := e.api(rec, func(o *Options) { o.RPCTimeout = 50 * time.Millisecond })
	e.addNode("c1", 64, 1<<20, 10000)
	in, _ := a.Create(ctx, alice, boot("vm", tiny))
	req := ConsoleOutputRequest{Instance: in}

	five := 5
	if out, err := a.GetConsoleOutput(ctx, alice, ConsoleOutputRequest{Instance: in, Length: &five}); err != nil || out != "line1\nline2\n" {
		t.Fatalf("console = %q, %v", out, err)
	}
	if last := rec.Calls()[len(rec.Calls())-1]; last.Method != rpcapi.MethodGetConsoleOutput || last.Length == nil || *last.Length != 5 {
		t.Errorf("call %+v", last)
	}

	rec.err = ErrConsoleNotAvailable
	var cna *ConsoleNotAvailableError
	if _, err := a.GetConsoleOutput(ctx, alice, req); !errors.As(err, &cna) || err.Error() != "Guest does not have a console available." {
		t.Errorf("no console: %v", err)
	}
	rec.err = ErrInstanceNotReady
	var nr *InstanceNotReadyError
	if _, err := a.GetConsoleOutput(ctx, alice, req); !errors.As(err, &nr) || err.Error() != "Instance "+in.UUID+" is not ready" {
		t.Errorf("not ready: %v", err)
	}
	rec.err = ErrNotSupported
	var ns *NotSupportedError
	if _, err := a.GetConsoleOutput(ctx, alice, req); !errors.As(err, &ns) || err.Error() != "Action is not supported." {
		t.Errorf("not supported: %v", err)
	}
	rec.err, rec.block = nil, true
	start := time.Now()
	_, err := a.GetConsoleOutput(ctx, alice, req)
	if err == nil || errors.As(err, &cna) || errors.As(err, &nr) || errors.As(err, &ns) {
		t.Errorf("a compute that never answers: %v, want an unexpected error", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("the RPC timeout did not bound the call")
	}

	hostless, err := e.compute.CreateInstance(ctx, computedb.Instance{ProjectID: "proj-a", DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	n := len(rec.Calls())
	if _, err := a.GetConsoleOutput(ctx, alice, ConsoleOutputRequest{Instance: hostless}); !errors.As(err, &nr) || nr.UUID != hostless.UUID {
		t.Errorf("no host: %v", err)
	}
	if len(rec.Calls()) != n {
		t.Error("a call was sent for an instance without a host")
	}
}

func TestHostStatuses(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(&recorder{})
		e.addService("up")
		disabled := e.addService("disabled")
		forced := e.addService("forced")
		down := e.addService("down")
		yes := true
		if _, err := e.services.Update(ctx, disabled.ID, registry.Update{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.services.Update(ctx, forced.ID, registry.Update{ForcedDown: &yes}); err != nil {
			t.Fatal(err)
		}
		e.makeDown(down)
		st, err := a.HostStatuses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := HostStatuses{"up": HostUp, "disabled": HostMaintenance, "forced": HostDown, "down": HostUnknown}
		if len(st) != len(want) {
			t.Fatalf("statuses %v, want %v", st, want)
		}
		for h, s := range want {
			if st[h] != s {
				t.Errorf("host %s: %q, want %q", h, st[h], s)
			}
		}
		for _, c := range []struct {
			host string
			want HostStatus
		}{{"up", HostUp}, {"forced", HostDown}, {"", HostNone}, {"unknown-host", HostUnknown}} {
			if got := st.Of(computedb.Instance{Host: c.host}); got != c.want {
				t.Errorf("Of(host %q) = %q, want %q", c.host, got, c.want)
			}
		}
	})
}

func TestErrorsCarryNovasMessages(t *testing.T) {
	for _, c := range []struct {
		err      error
		sentinel error
		msg      string
	}{
		{&InstanceNotFoundError{UUID: "u1"}, ErrInstanceNotFound, "Instance u1 could not be found."},
		{&InstanceInvalidStateError{UUID: "u1", Action: "reboot", Attr: "task_state", State: ""}, ErrInstanceInvalidState,
			"Cannot 'reboot' instance u1 while it is in task_state None"},
		{&InstanceNotReadyError{UUID: "u1"}, ErrInstanceNotReady, "Instance u1 is not ready"},
		{&ConsoleNotAvailableError{UUID: "u1"}, ErrConsoleNotAvailable, "Guest does not have a console available."},
		{&NotSupportedError{Action: "get_console_output"}, ErrNotSupported, "Action is not supported."},
		{&MarkerNotFoundError{Marker: "m"}, ErrMarkerNotFound, "marker [m] not found"},
		{&NoValidHostError{Reason: "There are not enough hosts available."}, ErrNoValidHost,
			"No valid host was found. There are not enough hosts available."},
	} {
		if c.err.Error() != c.msg {
			t.Errorf("%T: %q, want %q", c.err, c.err.Error(), c.msg)
		}
		if !errors.Is(c.err, c.sentinel) {
			t.Errorf("%T does not match its sentinel", c.err)
		}
	}
}

func TestStateCheck(t *testing.T) {
	now := time.Now()
	launched := computedb.Instance{UUID: "u1", VMState: states.VMStopped, TaskState: states.TaskNone, LaunchedAt: &now}
	if err := (stateCheck{}).check("anything", computedb.Instance{UUID: "u1", VMState: states.VMBuilding, TaskState: states.TaskSpawning}); err != nil {
		t.Errorf("an empty check refused: %v", err)
	}
	for _, c := range []struct {
		sc   stateCheck
		in   computedb.Instance
		want string
	}{
		{stateCheck{vm: []states.VMState{states.VMStopped}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}, launched, ""},
		{stateCheck{vm: []states.VMState{states.VMActive}}, launched, "Cannot 'start' instance u1 while it is in vm_state stopped"},
		{stateCheck{task: []states.TaskState{states.TaskNone}}, computedb.Instance{UUID: "u1", TaskState: states.TaskPoweringOff},
			"Cannot 'start' instance u1 while it is in task_state powering-off"},
		{stateCheck{mustHaveLaunched: true}, computedb.Instance{UUID: "u1"}, "Cannot 'start' instance u1 while it is in launched_at None"},
	} {
		err := c.sc.check("start", c.in)
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%+v on %+v: %v, want %q", c.sc, c.in, err, c.want)
		}
	}
}
