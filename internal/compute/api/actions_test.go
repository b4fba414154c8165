package computeapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
)

// The power actions, rebuild, lock and unlock against a real compute
// (manager and fake driver behind an RPC server): each reaches the compute,
// which moves the instance through nova's states, and each is recorded as
// an instance action whose compute event finishes with Success.
func TestServerActionsOnARealCompute(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(e.startCompute("c1"))
		in, err := a.Create(ctx, alice, boot("vm", tiny))
		if err != nil {
			t.Fatal(err)
		}
		id := in.UUID
		waitFor := func(vm states.VMState, power states.PowerState) computedb.Instance {
			t.Helper()
			var got computedb.Instance
			eventually(t, "instance "+string(vm), func() (bool, string) {
				got, err = e.compute.GetInstance(ctx, id)
				if err != nil {
					return false, err.Error()
				}
				return got.VMState == vm && got.TaskState == states.TaskNone && got.PowerState == power,
					string(got.VMState) + "/" + string(got.TaskState) + "/" + got.PowerState.String()
			})
			return got
		}
		in = waitFor(states.VMActive, states.PowerRunning)

		steps := []struct {
			name  string
			do    func(Caller, computedb.Instance) error
			task  states.TaskState // set by the API before the cast
			vm    states.VMState
			power states.PowerState
			event string
		}{
			{ActionStop, func(c Caller, in computedb.Instance) error { return a.Stop(ctx, c, in) }, states.TaskPoweringOff, states.VMStopped, states.PowerShutdown, "compute_stop_instance"},
			{ActionStart, func(c Caller, in computedb.Instance) error { return a.Start(ctx, c, in) }, states.TaskPoweringOn, states.VMActive, states.PowerRunning, "compute_start_instance"},
			{ActionPause, func(c Caller, in computedb.Instance) error { return a.Pause(ctx, c, in) }, states.TaskPausing, states.VMPaused, states.PowerPaused, "compute_pause_instance"},
			{ActionUnpause, func(c Caller, in computedb.Instance) error { return a.Unpause(ctx, c, in) }, states.TaskUnpausing, states.VMActive, states.PowerRunning, "compute_unpause_instance"},
			{ActionSuspend, func(c Caller, in computedb.Instance) error { return a.Suspend(ctx, c, in) }, states.TaskSuspending, states.VMSuspended, states.PowerSuspended, "compute_suspend_instance"},
			{ActionResume, func(c Caller, in computedb.Instance) error { return a.Resume(ctx, c, in) }, states.TaskResuming, states.VMActive, states.PowerRunning, "compute_resume_instance"},
		}
		// Each request has its own id, as nova-api gives every request.
		caller := func(name string) Caller { c := alice; c.RequestID = "req-" + name; return c }
		for _, s := range steps {
			if err := s.do(caller(s.name), in); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			in = waitFor(s.vm, s.power)
		}
		// Every action recorded (alice's request id), newest first, each
		// with its compute event finished on c1.
		acts, err := e.compute.ListActions(ctx, computedb.ActionFilter{InstanceUUID: id})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ac := range acts {
			names = append(names, ac.Action)
		}
		if got := strings.Join(names, ","); got != "resume,suspend,unpause,pause,start,stop,create" {
			t.Fatalf("actions %s", got)
		}
		for i, s := range steps {
			ac := acts[len(steps)-1-i]
			if ac.RequestID != "req-"+s.name || ac.UserID != "alice" || ac.ProjectID != "proj-a" || ac.Message != "" {
				t.Errorf("%s action %+v", s.name, ac)
			}
			// The compute finishes its event just after the state it writes.
			var evs []computedb.Event
			eventually(t, s.name+"'s event finished", func() (bool, string) {
				evs, err = e.compute.ListEvents(ctx, ac.ID)
				return err == nil && len(evs) == 1 && evs[0].FinishTime != nil, fmt.Sprintf("%+v %v", evs, err)
			})
			if evs[0].Event != s.event || evs[0].Result != computedb.EventSuccess || evs[0].Host != "c1" {
				t.Errorf("%s events %+v", s.name, evs)
			}
		}

		// Rebuild from another image keeps a running instance running, with
		// a new launched_at; a stopped one is stopped again (nova).
		const image2 = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
		name := "rebuilt"
		before := *in.LaunchedAt
		time.Sleep(5 * time.Millisecond)
		out, err := a.Rebuild(ctx, caller("rebuild"), RebuildRequest{Instance: in, ImageRef: image2, Name: &name})
		if err != nil || out.TaskState != states.TaskRebuilding || out.ImageRef != image2 || out.DisplayName != "rebuilt" ||
			states.ServerStatus(out.VMState, out.TaskState) != states.StatusRebuild {
			t.Fatalf("rebuild = %+v, %v", out, err)
		}
		in = waitFor(states.VMActive, states.PowerRunning)
		if !in.LaunchedAt.After(before) || in.ImageRef != image2 {
			t.Errorf("rebuilt %+v (launched before %v)", in, before)
		}
		if err := a.Stop(ctx, caller("stop-2"), in); err != nil {
			t.Fatal(err)
		}
		in = waitFor(states.VMStopped, states.PowerShutdown)
		if _, err := a.Rebuild(ctx, caller("rebuild-2"), RebuildRequest{Instance: in, ImageRef: imageID}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the stopped instance rebuilt", func() (bool, string) {
			acts, _ := e.compute.ListActions(ctx, computedb.ActionFilter{InstanceUUID: id, Limit: 1})
			evs, _ := e.compute.ListEvents(ctx, acts[0].ID)
			return len(evs) == 1 && evs[0].Result == computedb.EventSuccess, acts[0].Action
		})
		in = waitFor(states.VMStopped, states.PowerShutdown)
		if in.ImageRef != imageID {
			t.Errorf("stopped rebuild: %+v", in)
		}
	})
}

// Each action refuses the states nova's check_instance_state refuses, with
// nova's message, and changes nothing then.
func TestServerActionsRefuseWrongStates(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		e.addNode("c1", 64, 1<<20, 10000)
		in, _ := a.Create(ctx, alice, boot("vm", tiny))
		id := in.UUID
		set := func(vm states.VMState, task states.TaskState, launched bool) computedb.Instance {
			t.Helper()
			u := computedb.InstanceUpdate{VMState: &vm, TaskState: &task}
			if launched {
				now := time.Now()
				u.LaunchedAt = &now
			}
			got, err := e.compute.UpdateInstance(ctx, id, u)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		actions := map[string]func(computedb.Instance) error{
			ActionStop:    func(in computedb.Instance) error { return a.Stop(ctx, alice, in) },
			ActionStart:   func(in computedb.Instance) error { return a.Start(ctx, alice, in) },
			ActionPause:   func(in computedb.Instance) error { return a.Pause(ctx, alice, in) },
			ActionUnpause: func(in computedb.Instance) error { return a.Unpause(ctx, alice, in) },
			ActionSuspend: func(in computedb.Instance) error { return a.Suspend(ctx, alice, in) },
			ActionResume:  func(in computedb.Instance) error { return a.Resume(ctx, alice, in) },
			ActionRebuild: func(in computedb.Instance) error {
				_, err := a.Rebuild(ctx, alice, RebuildRequest{Instance: in, ImageRef: imageID})
				return err
			},
		}
		// From each vm state, the actions nova allows; every other is 409.
		allowed := map[states.VMState][]string{
			states.VMActive:    {ActionStop, ActionPause, ActionSuspend, ActionRebuild},
			states.VMStopped:   {ActionStart, ActionRebuild},
			states.VMPaused:    {ActionUnpause},
			states.VMSuspended: {ActionResume},
			states.VMError:     {ActionStop, ActionRebuild},
			states.VMBuilding:  {},
			states.VMResized:   {},
			states.VMRescued:   {},
		}
		for vm, ok := range allowed {
			for name, do := range actions {
				in := set(vm, states.TaskNone, true)
				n := len(rec.Calls())
				err := do(in)
				want := slices.Contains(ok, name)
				switch {
				case want && err != nil:
					t.Errorf("%s from %s: %v", name, vm, err)
				case !want:
					msg := "Cannot '" + name + "' instance " + id + " while it is in vm_state " + string(vm)
					var inv *InstanceInvalidStateError
					if !errors.As(err, &inv) || err.Error() != msg {
						t.Errorf("%s from %s: %v, want %q", name, vm, err, msg)
					}
					if len(rec.Calls()) != n {
						t.Errorf("%s from %s was cast", name, vm)
					}
					if got, _ := e.compute.GetInstance(ctx, id); got.TaskState != states.TaskNone {
						t.Errorf("%s from %s left task %q", name, vm, got.TaskState)
					}
				}
			}
		}
		// A task in progress refuses them all; so does an instance never
		// launched.
		for name, do := range actions {
			in := set(states.VMActive, states.TaskRebooting, true)
			if err := do(in); err == nil || (!strings.Contains(err.Error(), "task_state rebooting") && !strings.Contains(err.Error(), "vm_state")) {
				t.Errorf("%s during a reboot: %v", name, err)
			}
		}
		in = set(states.VMActive, states.TaskNone, false)
		in.LaunchedAt = nil
		if err := a.Stop(ctx, alice, in); err == nil || err.Error() != "Cannot 'stop' instance "+id+" while it is in launched_at None" {
			t.Errorf("stop of an unlaunched instance: %v", err)
		}
		// The cast carries what the compute needs: the method and the host.
		in = set(states.VMActive, states.TaskNone, true)
		if err := a.Pause(ctx, alice, in); err != nil {
			t.Fatal(err)
		}
		if last := rec.Calls()[len(rec.Calls())-1]; last.Method != rpcapi.MethodPauseInstance || last.Host != "c1" || last.UUID != id {
			t.Errorf("cast %+v", last)
		}
		// A failed cast puts the task back.
		in = set(states.VMActive, states.TaskNone, true)
		rec.err = errors.New("broker down")
		if err := a.Stop(ctx, alice, in); err == nil {
			t.Fatal("stop with a failing cast succeeded")
		}
		if got, _ := e.compute.GetInstance(ctx, id); got.TaskState != states.TaskNone {
			t.Errorf("task after a failed cast: %q", got.TaskState)
		}
	})
}

// A locked instance refuses its owner's actions (nova's InstanceIsLocked)
// but not an admin's; lock and unlock record who and why, and actions.
func TestLockRefusesNonAdmins(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec, func(o *Options) { o.Host = "api-1" })
		e.addNode("c1", 64, 1<<20, 10000)
		in, _ := a.Create(ctx, alice, boot("vm", tiny))
		in = e.launch(t, in.UUID)
		id := in.UUID
		if err := a.Lock(ctx, alice, in, "maintenance"); err != nil {
			t.Fatal(err)
		}
		in, _ = e.compute.GetInstance(ctx, id)
		if !in.Locked || in.LockedBy != LockedByOwner || in.LockedReason != "maintenance" {
			t.Fatalf("locked %+v", in)
		}
		for name, err := range map[string]error{
			"stop":   a.Stop(ctx, alice, in),
			"pause":  a.Pause(ctx, alice, in),
			"reboot": a.Reboot(ctx, alice, RebootRequest{Instance: in, Type: "SOFT"}),
			"delete": a.Delete(ctx, alice, in),
			"rebuild": func() error {
				_, err := a.Rebuild(ctx, alice, RebuildRequest{Instance: in, ImageRef: imageID})
				return err
			}(),
		} {
			if !errors.Is(err, ErrInstanceLocked) || err.Error() != "Instance "+id+" is locked" {
				t.Errorf("%s of a locked instance: %v", name, err)
			}
		}
		adminReq := admin
		adminReq.RequestID = "req-admin-stop"
		if err := a.Stop(ctx, adminReq, in); err != nil {
			t.Errorf("an admin's stop of a locked instance: %v", err)
		}
		// The owner locking again changes nothing; an admin's lock takes over.
		if err := a.Lock(ctx, alice, in, "again"); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.compute.GetInstance(ctx, id); got.LockedReason != "maintenance" {
			t.Errorf("a second owner lock changed the reason: %+v", got)
		}
		if err := a.Lock(ctx, Caller{UserID: "admin", ProjectID: "admin", Admin: true, RequestID: "req-admin"}, in, ""); err != nil {
			t.Fatal(err)
		}
		in, _ = e.compute.GetInstance(ctx, id)
		if in.LockedBy != LockedByAdmin || IsExpectedLockedBy(alice, in) || !IsExpectedLockedBy(admin, in) {
			t.Errorf("after the admin's lock: %+v", in)
		}
		if err := a.Unlock(ctx, alice, in); err != nil {
			t.Fatal(err)
		}
		in, _ = e.compute.GetInstance(ctx, id)
		if in.Locked || in.LockedBy != "" || in.LockedReason != "" {
			t.Errorf("unlocked %+v", in)
		}
		acts, _ := e.compute.ListActions(ctx, computedb.ActionFilter{InstanceUUID: id})
		var names []string
		for _, ac := range acts {
			names = append(names, ac.Action)
		}
		if got := strings.Join(names, ","); got != "unlock,lock,stop,lock,create" {
			t.Errorf("actions %s", got)
		}
		evs, _ := e.compute.ListEvents(ctx, acts[0].ID)
		if len(evs) != 1 || evs[0].Event != "api_unlock" || evs[0].Host != "api-1" || evs[0].Result != computedb.EventSuccess {
			t.Errorf("unlock events %+v", evs)
		}
	})
}

// A gonova compute older than service version 3 serves none of the server
// actions: nova-api refuses them before anything changes.
func TestActionsRefusedOnAnOldCompute(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec)
		svc := e.addNode("c1", 64, 1<<20, 10000)
		two := 2
		if _, err := e.services.Update(ctx, svc.ID, registry.Update{Version: &two}); err != nil {
			t.Fatal(err)
		}
		in, _ := a.Create(ctx, alice, boot("vm", tiny))
		in = e.launch(t, in.UUID)
		err := a.Stop(ctx, alice, in)
		if !errors.Is(err, ErrComputeTooOld) || !strings.Contains(err.Error(), "service version 2") {
			t.Fatalf("stop on a version 2 compute: %v", err)
		}
		if got, _ := e.compute.GetInstance(ctx, in.UUID); got.TaskState != states.TaskNone {
			t.Errorf("task %q", got.TaskState)
		}
		three := 3
		if _, err := e.services.Update(ctx, svc.ID, registry.Update{Version: &three}); err != nil {
			t.Fatal(err)
		}
		if err := a.Stop(ctx, alice, in); err != nil {
			t.Errorf("stop on a version 3 compute: %v", err)
		}
	})
}
