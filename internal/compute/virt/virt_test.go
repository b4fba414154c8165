package virt

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
)

func TestTypedErrorsMatchSentinels(t *testing.T) {
	for _, tc := range []struct {
		err      error
		sentinel error
		msg      string
	}{
		{&InstanceNotFoundError{UUID: "u1"}, ErrInstanceNotFound, "Instance u1 could not be found."},
		{&InstanceExistsError{UUID: "u1", Name: "instance-1"}, ErrInstanceExists, "Instance instance-1 (u1) already exists."},
		{&InsufficientResourcesError{Resource: "vcpus", Requested: 4, Free: 2}, ErrInsufficientResources,
			"Insufficient compute resources: vcpus requested 4, free 2."},
		{&InvalidStateError{UUID: "u1", State: states.PowerNoState, Action: "reboot"}, ErrInvalidState,
			"Cannot reboot instance u1 while it is in power state pending."},
	} {
		wrapped := fmt.Errorf("compute: %w", tc.err)
		if !errors.Is(wrapped, tc.sentinel) {
			t.Errorf("%T does not match %v", tc.err, tc.sentinel)
		}
		if tc.err.Error() != tc.msg {
			t.Errorf("%T message %q, want %q", tc.err, tc.err.Error(), tc.msg)
		}
		for _, other := range []error{ErrInstanceNotFound, ErrInstanceExists, ErrInsufficientResources, ErrInvalidState} {
			if other != tc.sentinel && errors.Is(wrapped, other) {
				t.Errorf("%T also matches %v", tc.err, other)
			}
		}
	}
	var nf *InstanceNotFoundError
	if !errors.As(fmt.Errorf("x: %w", &InstanceNotFoundError{UUID: "u9"}), &nf) || nf.UUID != "u9" {
		t.Fatal("errors.As did not recover the uuid")
	}
}

func TestSpecValidate(t *testing.T) {
	good := InstanceSpec{UUID: "u", Name: "n", Flavor: Flavor{VCPUs: 1, MemoryMB: 512, RootGB: 1}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for name, mutate := range map[string]func(*InstanceSpec){
		"no uuid":       func(s *InstanceSpec) { s.UUID = "" },
		"no name":       func(s *InstanceSpec) { s.Name = "" },
		"negative vcpu": func(s *InstanceSpec) { s.Flavor.VCPUs = -1 },
		"negative mem":  func(s *InstanceSpec) { s.Flavor.MemoryMB = -1 },
		"negative disk": func(s *InstanceSpec) { s.Flavor.RootGB = -1 },
	} {
		s := good
		mutate(&s)
		if s.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, s)
		}
	}
}

func TestResourcesJSONKeysAreNovas(t *testing.T) {
	b, err := json.Marshal(Resources{})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
		"local_gb_used", "disk_available_least", "hypervisor_type", "hypervisor_version",
		"hypervisor_hostname", "cpu_info"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("Resources JSON lacks nova key %q", k)
		}
	}
	if len(keys) != 11 {
		t.Errorf("Resources JSON has %d keys, want 11: %v", len(keys), keys)
	}
}
