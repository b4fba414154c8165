package manager

import (
	"context"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// setTask puts in in the task nova-api sets before its cast.
func (h *harness) setTask(t *testing.T, id string, task states.TaskState) {
	t.Helper()
	if _, err := h.store.UpdateInstance(ctx(t), id, computedb.InstanceUpdate{TaskState: &task}); err != nil {
		t.Fatal(err)
	}
}

// withRequest is ctx carrying request id req, as nova-api's casts do, with
// an action recorded for it.
func (h *harness) withRequest(t *testing.T, id, action, req string) context.Context {
	t.Helper()
	if _, err := h.store.StartAction(ctx(t), computedb.Action{InstanceUUID: id, Action: action, RequestID: req}); err != nil {
		t.Fatal(err)
	}
	return rpcsvc.NewContext(ctx(t), rpcsvc.Context{RequestID: req})
}

func (h *harness) events(t *testing.T, id, req string) []computedb.Event {
	t.Helper()
	a, err := h.store.GetAction(ctx(t), id, req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := h.store.ListEvents(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Each power endpoint moves the instance from the task nova-api set to
// nova's vm state, with the driver's power state and no task, inside its
// compute_<method> event.
func TestPowerEndpoints(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	id := in.UUID
	args := rpcapi.InstanceArgs{Instance: rpcapi.Instance{UUID: id}}
	for _, s := range []struct {
		method string
		task   states.TaskState
		call   func(context.Context) error
		vm     states.VMState
		power  states.PowerState
	}{
		{"stop_instance", states.TaskPoweringOff, func(c context.Context) error {
			return h.ep.StopInstance(c, rpcapi.StopInstanceArgs{Instance: args.Instance, CleanShutdown: true})
		}, states.VMStopped, states.PowerShutdown},
		{"start_instance", states.TaskPoweringOn, func(c context.Context) error { return h.ep.StartInstance(c, args) }, states.VMActive, states.PowerRunning},
		{"pause_instance", states.TaskPausing, func(c context.Context) error { return h.ep.PauseInstance(c, args) }, states.VMPaused, states.PowerPaused},
		{"unpause_instance", states.TaskUnpausing, func(c context.Context) error { return h.ep.UnpauseInstance(c, args) }, states.VMActive, states.PowerRunning},
		{"suspend_instance", states.TaskSuspending, func(c context.Context) error { return h.ep.SuspendInstance(c, args) }, states.VMSuspended, states.PowerSuspended},
		{"resume_instance", states.TaskResuming, func(c context.Context) error { return h.ep.ResumeInstance(c, args) }, states.VMActive, states.PowerRunning},
	} {
		h.setTask(t, id, s.task)
		req := "req-" + s.method
		if err := s.call(h.withRequest(t, id, s.method, req)); err != nil {
			t.Fatalf("%s: %v", s.method, err)
		}
		wantState(t, h.get(t, id), s.vm, states.TaskNone, s.power)
		evs := h.events(t, id, req)
		if len(evs) != 1 || evs[0].Event != "compute_"+s.method || evs[0].Result != computedb.EventSuccess || evs[0].Host != host {
			t.Errorf("%s events %+v", s.method, evs)
		}
	}
}

// A stale cast (the instance is no longer in the task nova-api set) does
// nothing; a stop of a guest already off also goes from no task (nova).
func TestPowerEndpointUnexpectedTask(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	id := in.UUID
	err := h.ep.PauseInstance(h.withRequest(t, id, "pause", "req-p"), rpcapi.InstanceArgs{Instance: rpcapi.Instance{UUID: id}})
	if err == nil || !strings.Contains(err.Error(), "unexpected task state") {
		t.Fatalf("pause without its task: %v", err)
	}
	wantState(t, h.get(t, id), states.VMActive, states.TaskNone, states.PowerRunning)
	if evs := h.events(t, id, "req-p"); len(evs) != 1 || evs[0].Result != computedb.EventError || evs[0].Details == "" {
		t.Errorf("events of the refused pause: %+v", evs)
	}
	if err := h.drv.PowerOff(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	if err := h.ep.StopInstance(ctx(t), rpcapi.StopInstanceArgs{Instance: rpcapi.Instance{UUID: id}}); err != nil {
		t.Fatalf("stop of a guest already off, without a task: %v", err)
	}
	wantState(t, h.get(t, id), states.VMStopped, states.TaskNone, states.PowerShutdown)
}

// A driver failure clears the task (reverts_task_state), records the fault
// and an Error event, and leaves the vm state as it was.
func TestPowerEndpointDriverFailure(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	id := in.UUID
	if err := h.drv.PowerOff(ctx(t), id); err != nil { // the guest is off: it cannot be paused
		t.Fatal(err)
	}
	h.setTask(t, id, states.TaskPausing)
	err := h.ep.PauseInstance(h.withRequest(t, id, "pause", "req-p"), rpcapi.InstanceArgs{Instance: rpcapi.Instance{UUID: id}})
	if err == nil {
		t.Fatal("pause of a guest that is off succeeded")
	}
	got := h.get(t, id)
	if got.VMState != states.VMActive || got.TaskState != states.TaskNone || got.Fault == nil || !strings.Contains(got.Fault.Message, "pause_instance failed") {
		t.Errorf("after the failure: %+v", got)
	}
	evs := h.events(t, id, "req-p")
	if len(evs) != 1 || evs[0].Result != computedb.EventError || !strings.Contains(evs[0].Traceback, "Cannot pause") {
		t.Errorf("events %+v", evs)
	}
	if a, _ := h.store.GetAction(ctx(t), id, "req-p"); a.Message != "Error" {
		t.Errorf("action %+v", a)
	}
}

// Rebuild: from task rebuilding through rebuild_block_device_mapping and
// rebuild_spawning to active with the new image on the hypervisor; a
// rebuild without its task does nothing.
func TestRebuildEndpoint(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	id := in.UUID
	args := rpcapi.RebuildInstanceArgs{Instance: rpcapi.Instance{UUID: id}, ImageRef: "cirros-2"}
	if err := h.ep.RebuildInstance(ctx(t), args); err == nil {
		t.Fatal("rebuild without task rebuilding succeeded")
	}
	img, task := "cirros-2", states.TaskRebuilding
	if _, err := h.store.UpdateInstance(ctx(t), id, computedb.InstanceUpdate{ImageRef: &img, TaskState: &task}); err != nil {
		t.Fatal(err)
	}
	if err := h.ep.RebuildInstance(h.withRequest(t, id, "rebuild", "req-r"), args); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, id), states.VMActive, states.TaskNone, states.PowerRunning)
	out, err := h.drv.GetConsoleOutput(ctx(t), id)
	if err != nil || !strings.Contains(out, `from image "cirros-2"`) {
		t.Errorf("console after the rebuild: %q, %v", out, err)
	}
	if evs := h.events(t, id, "req-r"); len(evs) != 1 || evs[0].Event != "compute_rebuild_instance" || evs[0].Result != computedb.EventSuccess {
		t.Errorf("events %+v", evs)
	}
}
