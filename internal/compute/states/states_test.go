package states

import (
	"fmt"
	"slices"
	"testing"
)

func TestServerStatus(t *testing.T) {
	cases := []struct {
		vm   VMState
		task TaskState
		want Status
	}{
		{VMActive, TaskNone, StatusActive},
		{VMActive, TaskRebooting, StatusReboot},
		{VMActive, TaskRebootStarted, StatusReboot},
		{VMActive, TaskRebootingHard, StatusHardReboot},
		{VMActive, TaskRebootPendingHard, StatusHardReboot},
		{VMActive, TaskDeleting, StatusActive}, // no status of its own: the vm state's
		{VMActive, TaskResizeFinish, StatusResize},
		{VMBuilding, TaskScheduling, StatusBuild},
		{VMBuilding, TaskSpawning, StatusBuild},
		{VMStopped, TaskNone, StatusShutoff},
		{VMStopped, TaskRebuilding, StatusRebuild},
		{VMResized, TaskResizeReverting, StatusRevertResize},
		{VMPaused, TaskMigrating, StatusMigrating},
		{VMSuspended, TaskNone, StatusSuspended},
		{VMRescued, TaskNone, StatusRescue},
		{VMError, TaskNone, StatusError},
		{VMError, TaskDeleting, StatusError},
		{VMDeleted, TaskNone, StatusDeleted},
		{VMSoftDeleted, TaskNone, StatusSoftDeleted},
		{VMShelved, TaskNone, StatusShelved},
		{VMShelvedOffloaded, TaskNone, StatusShelvedOffloaded},
		{"bogus", TaskNone, StatusUnknown},
	}
	for _, c := range cases {
		if got := ServerStatus(c.vm, c.task); got != c.want {
			t.Errorf("ServerStatus(%q, %q) = %s, want %s", c.vm, c.task, got, c.want)
		}
	}
	// Every vm state has a status of its own.
	for _, vm := range VMStates() {
		if s := ServerStatus(vm, TaskNone); s == StatusUnknown || s == "" {
			t.Errorf("vm state %q has no status", vm)
		}
	}
}

func TestVMStatesAreNovas(t *testing.T) {
	want := []VMState{"active", "building", "paused", "suspended", "stopped", "rescued", "resized",
		"soft-delete", "deleted", "error", "shelved", "shelved_offloaded"}
	got := VMStates()
	if !slices.Equal(got, want) {
		t.Fatalf("VMStates() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if VMStates()[0] != VMActive {
		t.Fatal("VMStates returned the package's own slice")
	}
	for _, s := range want {
		if !s.Valid() {
			t.Errorf("%q not valid", s)
		}
	}
	if VMState("running").Valid() {
		t.Error(`"running" is a power state, not a vm state`)
	}
}

func TestPowerStateCodesAndNames(t *testing.T) {
	// The codes are nova's and are stored and sent on the wire: they must not move.
	for _, tc := range []struct {
		state PowerState
		code  int
		name  string
	}{
		{PowerNoState, 0, "pending"}, {PowerRunning, 1, "running"}, {PowerPaused, 3, "paused"},
		{PowerShutdown, 4, "shutdown"}, {PowerCrashed, 6, "crashed"}, {PowerSuspended, 7, "suspended"},
	} {
		if int(tc.state) != tc.code || tc.state.String() != tc.name || !tc.state.Valid() {
			t.Errorf("state %d: code %d name %q valid %v; want %d %q true",
				tc.state, int(tc.state), tc.state, tc.state.Valid(), tc.code, tc.name)
		}
	}
	for _, retired := range []PowerState{2, 5, 8, -1} {
		if retired.Valid() {
			t.Errorf("PowerState(%d) is valid", retired)
		}
		if got := retired.String(); got != fmt.Sprintf("PowerState(%d)", retired) {
			t.Errorf("String of PowerState(%d) = %q", retired, got)
		}
	}
}

func TestAllowLists(t *testing.T) {
	if !slices.Contains(AllowHardReboot, VMError) || slices.Contains(AllowSoftReboot, VMError) {
		t.Error("a hard reboot, not a soft one, may rescue an instance in error")
	}
	if !slices.Contains(AllowReboot, TaskNone) || !slices.Contains(AllowReboot, TaskRebooting) || slices.Contains(AllowReboot, TaskDeleting) {
		t.Errorf("AllowReboot = %q", AllowReboot)
	}
}
