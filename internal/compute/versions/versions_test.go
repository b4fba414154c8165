package versions

import (
	"errors"
	"testing"
)

func TestHistoryIsIndexedByServiceVersion(t *testing.T) {
	h := History()
	if len(h) != Current+1 {
		t.Fatalf("%d entries, Current = %d", len(h), Current)
	}
	for i, e := range h {
		if e.Service != i || e.Change == "" {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	h[1].ComputeRPC = "9.9" // a copy
	if v, _ := ComputeRPC(1); v != "6.0" {
		t.Fatalf("History returned the table itself: ComputeRPC(1) = %s", v)
	}
	if OldestSupported < 1 || OldestSupported > Current {
		t.Fatalf("OldestSupported = %d outside 1..%d", OldestSupported, Current)
	}
}

func TestComputeRPC(t *testing.T) {
	for v, want := range map[int]string{1: "6.0", 2: "6.1", 3: "6.1"} {
		if got, err := ComputeRPC(v); err != nil || got != want {
			t.Errorf("ComputeRPC(%d) = %q, %v; want %s", v, got, err, want)
		}
	}
	_, err := ComputeRPC(Current + 1)
	var old *ServiceTooOldError
	if !errors.As(err, &old) || old.This != Current || old.Minimum != Current+1 {
		t.Fatalf("ComputeRPC(Current+1) = %v", err)
	}
	want := "This service is older (v3) than the minimum (v4) version of the rest of the deployment. Unable to continue."
	if Current == 3 && err.Error() != want {
		t.Errorf("message %q, want nova's %q", err, want)
	}
	if _, err := ComputeRPC(0); err == nil {
		t.Error("ComputeRPC(0) gave a version")
	}
}

func TestFloorCheck(t *testing.T) {
	f := Floor{Name: "gonova service version 2", Version: 2}
	for _, ok := range []int{0, 2, 3} {
		if err := f.Check(ok); err != nil {
			t.Errorf("Check(%d) = %v", ok, err)
		}
	}
	err := f.Check(1)
	var tooOld *TooOldComputeError
	if !errors.As(err, &tooOld) || tooOld.Minimum != 1 {
		t.Fatalf("Check(1) = %v", err)
	}
	want := "Current Nova version does not support computes older than gonova service version 2 but the minimum compute service level in your system is 1 and the oldest supported service level is 2."
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
	if err := Supported().Check(Current); err != nil {
		t.Errorf("this release refuses its own computes: %v", err)
	}
}
