package versions

import "fmt"

// Entry is one service version of the history.
type Entry struct {
	// Service is the service version a services row records.
	Service int
	// ComputeRPC is the compute RPC API version a nova-compute at this
	// service version serves ("" for version 0).
	ComputeRPC string
	// Change says what the version added.
	Change string
}

// history is indexed by service version; entries are only ever appended.
var history = [...]Entry{
	{0, "", "pre-history: a services row that records no version; gonova never writes it"},
	{1, "6.0", "gonova's first release: build_and_run_instance, terminate_instance, reboot_instance, get_console_output, get_diagnostics"},
	{2, "6.1", "build_and_run_instance takes power_on (false: build the guest and leave it stopped)"},
	{3, "6.1", "stop_instance, start_instance, pause_instance, unpause_instance, suspend_instance, resume_instance " +
		"and rebuild_instance served (nova's 6.0 methods, at nova's versions); the compute records instance action events"},
	{4, "6.1", "prep_resize, resize_instance, finish_resize, confirm_resize, revert_resize and finish_revert_resize served " +
		"(nova's 6.0 methods, at nova's versions): resize with confirm and revert"},
}

// ServerActions is the first service version whose nova-compute serves the
// server actions (stop, start, pause, unpause, suspend, resume, rebuild).
// They are nova's 6.0 methods and are sent at nova's versions, so a version
// cap cannot tell an older gonova compute that lacks them: nova-api checks
// the instance's host's service version instead, as nova gates new
// features on service versions.
const ServerActions = 3

// Resize is the first service version whose nova-compute serves the resize
// methods (prep_resize ... finish_revert_resize), gated as ServerActions.
const Resize = 4

// Current is this release's service version, the last entry of the history
// (nova's SERVICE_VERSION). Every gonova service records it in its row.
const Current = len(history) - 1

// Oldest supported nova-compute: a services table whose oldest nova-compute row
// records a lower version stops every service at start (nova's
// OLDEST_SUPPORTED_SERVICE_VERSION and its SERVICE_VERSION_ALIASES entry).
const (
	OldestSupported     = 1
	OldestSupportedName = "gonova service version 1"
)

// History returns a copy of the history, oldest first.
func History() []Entry { return append([]Entry(nil), history[:]...) }

// ComputeRPC returns the compute RPC API version a nova-compute at service
// version v serves. A version above Current means the deployment is newer
// than this binary: the error is a *ServiceTooOldError.
func ComputeRPC(v int) (string, error) {
	switch {
	case v > Current:
		return "", &ServiceTooOldError{This: Current, Minimum: v}
	case v < 1:
		return "", fmt.Errorf("versions: service version %d serves no compute RPC API", v)
	}
	return history[v].ComputeRPC, nil
}

// ServiceTooOldError is nova's ServiceTooOld: the oldest service of the
// deployment is newer than this binary, which therefore cannot tell what it
// speaks (this binary was rolled back, or an old one came back online).
type ServiceTooOldError struct {
	This    int // this binary's service version
	Minimum int // the minimum of the deployment
}

func (e *ServiceTooOldError) Error() string {
	return fmt.Sprintf("This service is older (v%d) than the minimum (v%d) version of the rest of the deployment. Unable to continue.", e.This, e.Minimum)
}

// TooOldComputeError is nova's TooOldComputeService: the oldest nova-compute
// row records a service version below the oldest this release supports.
type TooOldComputeError struct {
	// OldestSupportedName and OldestSupported name the floor.
	OldestSupportedName string
	OldestSupported     int
	// Scope is where the minimum was read: "system" (gonova's one services
	// table is the whole deployment, as nova's API database view).
	Scope string
	// Minimum is the lowest nova-compute service version found.
	Minimum int
}

func (e *TooOldComputeError) Error() string {
	return fmt.Sprintf("Current Nova version does not support computes older than %s but the minimum compute service level in your %s is %d and the oldest supported service level is %d.",
		e.OldestSupportedName, e.Scope, e.Minimum, e.OldestSupported)
}

// Floor is a lowest supported service version and its name.
type Floor struct {
	Name    string
	Version int
}

// Supported is this release's floor: OldestSupported.
func Supported() Floor { return Floor{Name: OldestSupportedName, Version: OldestSupported} }

// Check is nova's raise_if_old_compute over minimum, the lowest service
// version of the live nova-compute rows: 0 means no compute yet (a fresh
// install) and passes; below f.Version is a *TooOldComputeError.
func (f Floor) Check(minimum int) error {
	if minimum == 0 || minimum >= f.Version {
		return nil
	}
	return &TooOldComputeError{OldestSupportedName: f.Name, OldestSupported: f.Version, Scope: "system", Minimum: minimum}
}
