package manager

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
)

var (
	tiny  = rpcapi.Flavor{FlavorID: "f1", VCPUs: 1, MemoryMB: 512, RootGB: 1}
	small = rpcapi.Flavor{FlavorID: "f2", VCPUs: 2, MemoryMB: 2048, RootGB: 20}
)

func (h *harness) nodeUsage(t *testing.T) string {
	t.Helper()
	id, err := h.m.nodeRow(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := h.store.GetNode(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d vcpus %d MB %d GB %d vms", n.VCPUsUsed, n.MemoryMBUsed, n.LocalGBUsed, n.RunningVMs)
}

func eventNames(evs []computedb.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Event+":"+e.Result)
	}
	return strings.Join(out, ",")
}

func (h *harness) prep(t *testing.T, c context.Context, id string, f rpcapi.Flavor) error {
	t.Helper()
	return h.ep.PrepResize(c, rpcapi.PrepResizeArgs{Instance: rpcapi.Instance{UUID: id}, Flavor: f,
		Migration: rpcapi.Migration{SourceCompute: host, DestCompute: host}})
}

// A resize within this host, cast as nova-api casts prep_resize: the
// claim is made here, the hops run here each inside its event, and the
// instance ends resized with the new flavor and both claims; confirm
// leaves the new one, and a resize reverted goes back to the old flavor
// and claim, the guest resized each time.
func TestResizeOnThisHost(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	id := in.UUID
	if got := h.nodeUsage(t); got != "1 vcpus 512 MB 1 GB 1 vms" {
		t.Fatalf("after build: %s", got)
	}
	h.setTask(t, id, states.TaskResizePrep)
	if err := h.prep(t, h.withRequest(t, id, "resize", "req-1"), id, small); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, id)
	wantState(t, got, states.VMResized, states.TaskNone, states.PowerRunning)
	if got.FlavorID != "f2" || got.VCPUs != 2 || got.Resize == nil || !got.Resize.Finished || got.Resize.OldFlavor.ID != "f1" {
		t.Fatalf("after resize: %+v %+v", got, got.Resize)
	}
	if u := h.nodeUsage(t); u != "3 vcpus 2560 MB 21 GB 1 vms" {
		t.Fatalf("while resized: %s", u)
	}
	if e := eventNames(h.events(t, id, "req-1")); e != "compute_finish_resize:Success,compute_resize_instance:Success,compute_prep_resize:Success" {
		t.Fatalf("events %s", e)
	}
	out, err := h.drv.GetConsoleOutput(ctx(t), id)
	if err != nil || !strings.Contains(out, "resized: 2 vcpus, 2048 MB memory, 20 GB disk") {
		t.Fatalf("console %q %v", out, err)
	}
	// A stale prep_resize (the task moved on) does nothing.
	if err := h.prep(t, ctx(t), id, small); err == nil {
		t.Fatal("a stale prep_resize succeeded")
	}

	h.setTask(t, id, states.TaskResizeConfirming)
	if err := h.ep.ConfirmResize(h.withRequest(t, id, "confirmResize", "req-2"), rpcapi.MigrationArgs{Instance: rpcapi.Instance{UUID: id},
		Migration: rpcapi.Migration{SourceCompute: host, DestCompute: host}}); err != nil {
		t.Fatal(err)
	}
	got = h.get(t, id)
	wantState(t, got, states.VMActive, states.TaskNone, states.PowerRunning)
	if got.Resize != nil || got.FlavorID != "f2" || h.nodeUsage(t) != "2 vcpus 2048 MB 20 GB 1 vms" {
		t.Fatalf("after confirm: %+v, %s", got, h.nodeUsage(t))
	}
	if len(h.guests(t)) != 1 {
		t.Fatalf("guests after a same-host confirm: %v", h.guests(t))
	}

	// A stopped server: resized to stopped, reverted to stopped.
	if err := h.m.driver.PowerOff(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	st, off := states.VMStopped, states.PowerShutdown
	if _, err := h.store.UpdateInstance(ctx(t), id, computedb.InstanceUpdate{VMState: &st, PowerState: &off}); err != nil {
		t.Fatal(err)
	}
	h.setTask(t, id, states.TaskResizePrep)
	big := rpcapi.Flavor{FlavorID: "f3", VCPUs: 4, MemoryMB: 4096, RootGB: 40}
	if err := h.prep(t, ctx(t), id, big); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, id), states.VMResized, states.TaskNone, states.PowerShutdown)
	h.setTask(t, id, states.TaskResizeReverting)
	if err := h.ep.RevertResize(h.withRequest(t, id, "revertResize", "req-3"), rpcapi.MigrationArgs{Instance: rpcapi.Instance{UUID: id},
		Migration: rpcapi.Migration{SourceCompute: host, DestCompute: host}}); err != nil {
		t.Fatal(err)
	}
	got = h.get(t, id)
	wantState(t, got, states.VMStopped, states.TaskNone, states.PowerShutdown)
	if got.FlavorID != "f2" || got.Resize != nil || h.nodeUsage(t) != "2 vcpus 2048 MB 20 GB 1 vms" {
		t.Fatalf("after revert: %+v, %s", got, h.nodeUsage(t))
	}
	if e := eventNames(h.events(t, id, "req-3")); e != "compute_finish_revert_resize:Success,compute_revert_resize:Success" {
		t.Fatalf("revert events %s", e)
	}
}

// A resize the driver refuses (a smaller root disk, libvirt's "Unable to
// resize disk down") and one whose source this compute cannot reach are
// rolled back: no task, the fault recorded, the destination's claim given
// back, vm_state and flavor as they were.
func TestResizeRollback(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 2, 2048, 20)
	h.build(t, in)
	id := in.UUID
	h.setTask(t, id, states.TaskResizePrep)
	if err := h.prep(t, h.withRequest(t, id, "resize", "req-1"), id, tiny); err == nil {
		t.Fatal("a disk downsize succeeded")
	}
	got := h.get(t, id)
	wantState(t, got, states.VMActive, states.TaskNone, states.PowerRunning)
	if got.Resize != nil || got.FlavorID != "f1" || got.Fault == nil || got.Fault.Message != "Resize error: Unable to resize disk down." {
		t.Fatalf("after a refused downsize: %+v %+v", got, got.Fault)
	}
	if u := h.nodeUsage(t); u != "2 vcpus 2048 MB 20 GB 1 vms" {
		t.Fatalf("usage %s", u)
	}
	if e := eventNames(h.events(t, id, "req-1")); e != "compute_resize_instance:Error,compute_prep_resize:Error" {
		t.Fatalf("events %s", e)
	}

	h.setTask(t, id, states.TaskResizePrep)
	err := h.ep.PrepResize(ctx(t), rpcapi.PrepResizeArgs{Instance: rpcapi.Instance{UUID: id}, Flavor: small,
		Migration: rpcapi.Migration{SourceCompute: "elsewhere", DestCompute: host}})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the source host elsewhere") {
		t.Fatalf("prep_resize without peers: %v", err)
	}
	got = h.get(t, id)
	if got.TaskState != states.TaskNone || got.Resize != nil || h.nodeUsage(t) != "2 vcpus 2048 MB 20 GB 1 vms" {
		t.Fatalf("after an unreachable source: %+v, %s", got, h.nodeUsage(t))
	}
}

// resize_confirm_window: a resize left in VERIFY_RESIZE that long is
// confirmed by _poll_unconfirmed_resizes, recorded as a confirmResize
// action; a younger one is left alone, and a window of 0 does nothing.
func TestPollUnconfirmedResizes(t *testing.T) {
	h := newHarness(t, fake.Options{})
	in := h.create(t, 1, 512, 1)
	h.build(t, in)
	id := in.UUID
	h.setTask(t, id, states.TaskResizePrep)
	if err := h.prep(t, ctx(t), id, small); err != nil {
		t.Fatal(err)
	}
	later := clocktest.New(time.Now().Add(2 * time.Minute))
	h.m.clock = later
	if err := h.m.PollUnconfirmedResizes(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, id), states.VMResized, states.TaskNone, states.PowerRunning) // window 0: off
	h.m.confirmWindow = time.Hour
	if err := h.m.PollUnconfirmedResizes(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantState(t, h.get(t, id), states.VMResized, states.TaskNone, states.PowerRunning) // younger than the window
	h.m.confirmWindow = time.Minute
	if err := h.m.PollUnconfirmedResizes(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, id)
	wantState(t, got, states.VMActive, states.TaskNone, states.PowerRunning)
	if got.Resize != nil || got.FlavorID != "f2" || h.nodeUsage(t) != "2 vcpus 2048 MB 20 GB 1 vms" {
		t.Fatalf("after the automatic confirm: %+v, %s", got, h.nodeUsage(t))
	}
	acts, err := h.store.ListActions(ctx(t), computedb.ActionFilter{InstanceUUID: id})
	if err != nil || len(acts) == 0 || acts[0].Action != "confirmResize" {
		t.Fatalf("actions %+v, %v", acts, err)
	}
	if e := eventNames(h.events(t, id, acts[0].RequestID)); e != "compute_confirm_resize:Success" {
		t.Fatalf("events %s", e)
	}
}

// A server deleted while VERIFY_RESIZE between two hosts: nova-api casts
// confirm_resize to the source, which kept its guest, while the
// destination terminates. Whatever the destination's terminate has got to
// when the source reads the row (task deleting, the row marked vm_state
// deleted with no task just before it goes, or gone), the source removes
// its guest and touches nothing else.
func TestConfirmResizeOnTheSourceOfADeletedServerRemovesItsGuest(t *testing.T) {
	deleted, none, deleting := states.VMDeleted, states.TaskNone, states.TaskDeleting
	for name, upd := range map[string]*computedb.InstanceUpdate{
		"task deleting":             {TaskState: &deleting},
		"vm_state deleted, no task": {VMState: &deleted, TaskState: &none},
		"row gone":                  nil,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, fake.Options{})
			in := h.create(t, 1, 512, 1)
			h.build(t, in)
			id := in.UUID
			if upd != nil {
				if _, err := h.store.UpdateInstance(ctx(t), id, *upd); err != nil {
					t.Fatal(err)
				}
			} else if err := h.store.DeleteInstance(ctx(t), id); err != nil {
				t.Fatal(err)
			}
			if err := h.ep.ConfirmResize(ctx(t), rpcapi.MigrationArgs{Instance: rpcapi.Instance{UUID: id},
				Migration: rpcapi.Migration{SourceCompute: host, DestCompute: "elsewhere", Status: "confirming", MigrationType: "resize"}}); err != nil {
				t.Fatal(err)
			}
			if g := h.guests(t); len(g) != 0 {
				t.Fatalf("guests left on the source: %v", g)
			}
		})
	}
}
