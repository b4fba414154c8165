package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/registry"
)

func TestCreateOptionsApply(t *testing.T) {
	off := registry.CreateOptions{DisableNewServices: true}
	got := off.Apply(registry.NewService{Host: "h", Binary: registry.BinaryCompute})
	if !got.Disabled || got.DisabledReason != "New compute service disabled due to config option." {
		t.Errorf("nova-compute under enable_new_services=false: %+v", got)
	}
	for _, b := range []string{registry.BinaryAPI, "nova-scheduler", "nova-conductor"} {
		if got := off.Apply(registry.NewService{Host: "h", Binary: b}); got.Disabled || got.DisabledReason != "" {
			t.Errorf("%s must not be disabled by enable_new_services: %+v", b, got)
		}
	}
	if got := (registry.CreateOptions{}).Apply(registry.NewService{Host: "h", Binary: registry.BinaryCompute}); got.Disabled {
		t.Errorf("zero CreateOptions disabled a compute: %+v", got)
	}
}

func TestParseUUID(t *testing.T) {
	got, err := registry.ParseUUID(" 6F9619FF-8B86-D011-B42D-00C04FC964FF ")
	if err != nil || got != "6f9619ff-8b86-d011-b42d-00c04fc964ff" {
		t.Errorf("ParseUUID = %q, %v", got, err)
	}
	for _, bad := range []string{"", "42", "6f9619ff8b86d011b42d00c04fc964ff", "{6f9619ff-8b86-d011-b42d-00c04fc964ff}", "urn:uuid:6f9619ff-8b86-d011-b42d-00c04fc964ff"} {
		if _, err := registry.ParseUUID(bad); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("ParseUUID(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestDuplicateError(t *testing.T) {
	err := error(&registry.DuplicateError{Key: "host+topic", Host: "h", Topic: "compute"})
	if !errors.Is(err, registry.ErrDuplicate) || errors.Is(err, registry.ErrNotFound) {
		t.Error("DuplicateError does not match ErrDuplicate only")
	}
	if !strings.Contains(err.Error(), `topic "compute"`) {
		t.Errorf("message %q does not name the key", err)
	}
}

func TestFilterMatches(t *testing.T) {
	live := registry.Service{ID: 1, Host: "h", Binary: "b"}
	gone := registry.Service{ID: 2, Host: "h", Binary: "b", Deleted: 2}
	if !(registry.Filter{}).Matches(live) || (registry.Filter{}).Matches(gone) || !(registry.Filter{IncludeDeleted: true}).Matches(gone) {
		t.Error("deleted filtering wrong")
	}
	if (registry.Filter{Host: "x"}).Matches(live) || (registry.Filter{Binary: "x"}).Matches(live) {
		t.Error("host/binary filtering wrong")
	}
}

func TestUpdateValidate(t *testing.T) {
	v := -1
	if err := (registry.Update{Version: &v}).Validate(); !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), "version") {
		t.Errorf("negative version: %v", err)
	}
	yes := true
	if err := (registry.Update{ForcedDown: &yes}).Validate(); err != nil {
		t.Errorf("valid update: %v", err)
	}
}
