package virt

import (
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
)

// RebootType is nova's reboot_type: "SOFT" asks the guest to restart, "HARD"
// power-cycles it.
type RebootType string

// The reboot types of nova's API and RPC.
const (
	RebootSoft RebootType = "SOFT"
	RebootHard RebootType = "HARD"
)

// Flavor is the part of an instance's flavor a driver needs.
type Flavor struct {
	Name     string `json:"name"`
	VCPUs    int    `json:"vcpus"`
	MemoryMB int    `json:"memory_mb"`
	RootGB   int    `json:"root_gb"`
}

// InstanceSpec is what Spawn builds.
type InstanceSpec struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"` // nova's instance name, like "instance-00000001"
	Flavor   Flavor `json:"flavor"`
	ImageRef string `json:"image_ref"`
}

// Validate reports a spec that no driver can build.
func (s InstanceSpec) Validate() error {
	switch {
	case s.UUID == "":
		return errors.New("virt: instance spec without uuid")
	case s.Name == "":
		return fmt.Errorf("virt: instance %s has no name", s.UUID)
	case s.Flavor.VCPUs < 0 || s.Flavor.MemoryMB < 0 || s.Flavor.RootGB < 0:
		return fmt.Errorf("virt: instance %s has a negative flavor size %+v", s.UUID, s.Flavor)
	}
	return nil
}

// InstanceInfo is what GetInfo returns (nova's hardware.InstanceInfo).
type InstanceInfo struct {
	State      states.PowerState `json:"state"`
	InternalID string            `json:"internal_id,omitempty"` // the hypervisor's own id
}

// Diagnostics is an instance's diagnostics, shaped like the body of nova's
// GET /servers/{id}/diagnostics from microversion 2.48.
type Diagnostics struct {
	State         string            `json:"state"` // states.PowerState.String()
	Driver        string            `json:"driver"`
	Hypervisor    string            `json:"hypervisor"`
	HypervisorOS  string            `json:"hypervisor_os"`
	UptimeSeconds int64             `json:"uptime"`
	ConfigDrive   bool              `json:"config_drive"`
	NumCPUs       int               `json:"num_cpus"`
	NumNICs       int               `json:"num_nics"`
	NumDisks      int               `json:"num_disks"`
	CPUDetails    []CPUDiagnostics  `json:"cpu_details"`
	NICDetails    []NICDiagnostics  `json:"nic_details"`
	DiskDetails   []DiskDiagnostics `json:"disk_details"`
	MemoryDetails MemoryDiagnostics `json:"memory_details"`
}

// CPUDiagnostics describes one virtual CPU.
type CPUDiagnostics struct {
	ID          int   `json:"id"`
	TimeNS      int64 `json:"time"`
	Utilisation *int  `json:"utilisation"` // percent; nil when unknown
}

// NICDiagnostics describes one virtual NIC.
type NICDiagnostics struct {
	MACAddress string `json:"mac_address"`
	RxOctets   int64  `json:"rx_octets"`
	RxPackets  int64  `json:"rx_packets"`
	TxOctets   int64  `json:"tx_octets"`
	TxPackets  int64  `json:"tx_packets"`
}

// DiskDiagnostics describes one virtual disk.
type DiskDiagnostics struct {
	ReadBytes     int64 `json:"read_bytes"`
	ReadRequests  int64 `json:"read_requests"`
	WriteBytes    int64 `json:"write_bytes"`
	WriteRequests int64 `json:"write_requests"`
	ErrorsCount   int64 `json:"errors_count"`
}

// MemoryDiagnostics is the guest's memory in MiB.
type MemoryDiagnostics struct {
	Maximum int `json:"maximum"`
	Used    int `json:"used"`
}

// Resources is the host's capacity and usage, with the keys of nova's
// get_available_resource (the source of a compute_nodes row).
type Resources struct {
	VCPUs              int    `json:"vcpus"`
	MemoryMB           int    `json:"memory_mb"`
	LocalGB            int    `json:"local_gb"`
	VCPUsUsed          int    `json:"vcpus_used"`
	MemoryMBUsed       int    `json:"memory_mb_used"`
	LocalGBUsed        int    `json:"local_gb_used"`
	DiskAvailableLeast int    `json:"disk_available_least"`
	HypervisorType     string `json:"hypervisor_type"`
	HypervisorVersion  int    `json:"hypervisor_version"` // nova's integer form: 1.2.3 is 1002003
	HypervisorHostname string `json:"hypervisor_hostname"`
	CPUInfo            string `json:"cpu_info"`
}
