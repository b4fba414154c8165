package rpcapi

import (
	"encoding/json"

	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
)

// Topic is the RPC topic nova-compute listens on (nova's compute_topic).
const Topic = "compute"

// Version is the highest compute RPC API version this package speaks and the
// manager serves (nova's current major, 6, and gonova's minors). It is the
// compute RPC version of the last service version (internal/compute/versions).
//
// gonova's compute RPC API history (nova's ComputeAPI docstring):
//
//	6.0  gonova's first: build_and_run_instance, terminate_instance,
//	     reboot_instance, get_console_output, get_diagnostics, with nova 6.0's
//	     arguments
//	6.1  build_and_run_instance takes power_on (bool, default true; false
//	     builds the guest and leaves it stopped)
const Version = "6.1"

// The served method names.
const (
	MethodBuildAndRunInstance = "build_and_run_instance"
	MethodTerminateInstance   = "terminate_instance"
	MethodRebootInstance      = "reboot_instance"
	MethodGetConsoleOutput    = "get_console_output"
	MethodGetDiagnostics      = "get_diagnostics"
	// MethodGetHostUptime is nova's get_host_uptime (5.0 on): no
	// arguments, the host's `uptime` line back.
	MethodGetHostUptime = "get_host_uptime"
	// The server actions (actions.go), served from service version 3.
	MethodStopInstance    = "stop_instance"
	MethodStartInstance   = "start_instance"
	MethodPauseInstance   = "pause_instance"
	MethodUnpauseInstance = "unpause_instance"
	MethodSuspendInstance = "suspend_instance"
	MethodResumeInstance  = "resume_instance"
	MethodRebuildInstance = "rebuild_instance"
)

// methodVersions is the newest version each method is sent with, as nova's
// client hard-codes one per method. A method that changed gets the minor
// version of its change here; under a VersionCap below it, the client sends
// the older form when there is one (BuildAndRunInstance) and refuses it
// otherwise.
var methodVersions = map[string]string{
	MethodBuildAndRunInstance: "6.1",
	MethodTerminateInstance:   "6.0",
	MethodRebootInstance:      "6.0",
	MethodGetConsoleOutput:    "6.0",
	MethodGetDiagnostics:      "6.0",
	MethodGetHostUptime:       "6.0",
	// nova's versions of nova's methods (a Python nova-compute of Zed
	// understands them); a gonova compute below service version 3 does not
	// serve them, which nova-api checks (versions.ServerActions).
	MethodStopInstance:    "6.0",
	MethodStartInstance:   "6.0",
	MethodPauseInstance:   "6.0",
	MethodUnpauseInstance: "6.0",
	MethodSuspendInstance: "6.0",
	MethodResumeInstance:  "6.0",
	MethodRebuildInstance: "6.1",
}

// MethodVersion returns the newest version method is sent with ("" for a
// method this API does not have).
func MethodVersion(method string) string { return methodVersions[method] }

// Instance is the instance as it travels in every method's "instance"
// argument: the fields of nova's Instance object that gonova's compute needs,
// under nova's field names. The compute treats its database row as the truth
// and uses UUID to find it; the rest is there for logs and for a compute that
// must act on an instance whose row it cannot read.
type Instance struct {
	UUID        string `json:"uuid"`
	DisplayName string `json:"display_name"`
	Host        string `json:"host,omitempty"`
	Node        string `json:"node,omitempty"`
	VCPUs       int    `json:"vcpus"`
	MemoryMB    int64  `json:"memory_mb"`
	RootGB      int64  `json:"root_gb"`
	FlavorID    string `json:"flavor_id"`
	ImageRef    string `json:"image_ref"`
	ProjectID   string `json:"project_id"`
	UserID      string `json:"user_id"`
}

// InstanceFrom is the wire form of an instances row.
func InstanceFrom(in computedb.Instance) Instance {
	return Instance{
		UUID: in.UUID, DisplayName: in.DisplayName, Host: in.Host, Node: in.Node,
		VCPUs: in.VCPUs, MemoryMB: in.MemoryMB, RootGB: in.RootGB, FlavorID: in.FlavorID,
		ImageRef: in.ImageRef, ProjectID: in.ProjectID, UserID: in.UserID,
	}
}

// BuildAndRunInstanceArgs are build_and_run_instance's arguments (nova 6.0:
// instance, image, request_spec, filter_properties, admin_password,
// injected_files, requested_networks, security_groups, block_device_mapping,
// node, limits, host_list, accel_uuids). gonova uses Instance and Node; the
// others are carried so the argument list is nova's, and are not acted on.
type BuildAndRunInstanceArgs struct {
	Instance Instance `json:"instance"`
	// Image is nova's image metadata dict; gonova's compute boots
	// Instance.ImageRef and only logs this.
	Image map[string]any `json:"image"`
	// Node is the compute node (hypervisor_hostname) the scheduler chose;
	// empty means the host's only node.
	Node string `json:"node"`

	RequestSpec        json.RawMessage `json:"request_spec"`
	FilterProperties   map[string]any  `json:"filter_properties"`
	AdminPassword      *string         `json:"admin_password"`
	InjectedFiles      []any           `json:"injected_files"`
	RequestedNetworks  json.RawMessage `json:"requested_networks"`
	SecurityGroups     []string        `json:"security_groups"`
	BlockDeviceMapping []any           `json:"block_device_mapping"`
	Limits             map[string]any  `json:"limits"`
	HostList           []any           `json:"host_list"`
	AccelUUIDs         []string        `json:"accel_uuids"`

	// PowerOn (6.1) says whether the guest runs once built: nil and true
	// boot it, false leaves it stopped (vm_state stopped, power_state
	// shutdown), as nova's driver.spawn(power_on=False). It is gonova's
	// argument, not nova's; nil is not sent.
	PowerOn *bool `json:"power_on,omitempty"`
}

// TerminateInstanceArgs are terminate_instance's arguments (nova: instance,
// bdms). BDMs is always sent empty: gonova has no volumes.
type TerminateInstanceArgs struct {
	Instance Instance `json:"instance"`
	BDMs     []any    `json:"bdms"`
}

// RebootInstanceArgs are reboot_instance's arguments (nova: instance,
// block_device_info, reboot_type).
type RebootInstanceArgs struct {
	Instance        Instance        `json:"instance"`
	BlockDeviceInfo json.RawMessage `json:"block_device_info"`
	// RebootType is "SOFT" or "HARD".
	RebootType string `json:"reboot_type"`
}

// GetConsoleOutputArgs are get_console_output's arguments (nova: instance,
// tail_length). TailLength nil means the whole log; 0 means none of it, as
// nova's _tail_log.
type GetConsoleOutputArgs struct {
	Instance   Instance `json:"instance"`
	TailLength *int     `json:"tail_length"`
}

// GetDiagnosticsArgs are get_diagnostics's arguments (nova: instance).
type GetDiagnosticsArgs struct {
	Instance Instance `json:"instance"`
}

// Diagnostics is get_diagnostics's result: the body of nova's
// GET /servers/{id}/diagnostics from microversion 2.48.
type Diagnostics = virt.Diagnostics
