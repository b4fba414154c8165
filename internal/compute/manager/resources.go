package manager

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// UpdateAvailableResource is nova's update_available_resource periodic task
// (the resource tracker, for the host's single node): it takes the capacity
// and hypervisor details from the driver, computes the usage from the
// instances the database puts on this host (as nova's tracker does, so that
// an instance being built already holds its share), and writes the
// compute_nodes row with the service id learnt in PreStartHook. It also
// updates gonova_compute_instances.
//
// current_workload counts the instances being built or with a task in
// progress (nova counts a fixed list of task states). Reserved host
// resources (reserved_host_memory_mb, ...) are not implemented: free is
// capacity minus usage.
func (m *ComputeManager) UpdateAvailableResource(ctx context.Context) error {
	res, err := m.getAvailableResource(ctx)
	if err != nil {
		return fmt.Errorf("update_available_resource: %w", err)
	}
	insts, err := m.store.ListInstances(ctx, computedb.InstanceFilter{Host: m.host})
	if err != nil {
		return fmt.Errorf("update_available_resource: listing the instances of host %s: %w", m.host, err)
	}
	var (
		vcpus, workload int
		memMB, diskGB   int64
		byState         = map[states.VMState]int{}
	)
	for _, in := range insts {
		byState[in.VMState]++
		if in.VMState == states.VMDeleted {
			continue
		}
		vcpus += in.VCPUs
		memMB += in.MemoryMB
		diskGB += in.RootGB
		if in.VMState == states.VMBuilding || in.TaskState != states.TaskNone {
			workload++
		}
	}
	if vcpus != res.VCPUsUsed || memMB != int64(res.MemoryMBUsed) || diskGB != int64(res.LocalGBUsed) {
		m.log.Debug("The hypervisor's usage differs from the instances recorded on this host; recording the latter",
			"db_vcpus_used", vcpus, "hv_vcpus_used", res.VCPUsUsed, "db_memory_mb_used", memMB,
			"hv_memory_mb_used", res.MemoryMBUsed, "db_local_gb_used", diskGB, "hv_local_gb_used", res.LocalGBUsed)
	}
	m.mu.Lock()
	serviceID := m.serviceID
	m.mu.Unlock()
	node, err := m.store.UpsertNode(ctx, computedb.Node{
		ServiceID:          serviceID,
		Host:               m.host,
		HypervisorHostname: res.HypervisorHostname,
		HypervisorType:     res.HypervisorType,
		HypervisorVersion:  int64(res.HypervisorVersion),
		HostIP:             m.hostIP,
		VCPUs:              res.VCPUs,
		VCPUsUsed:          vcpus,
		MemoryMB:           int64(res.MemoryMB),
		MemoryMBUsed:       memMB,
		LocalGB:            int64(res.LocalGB),
		LocalGBUsed:        diskGB,
		FreeRAMMB:          int64(res.MemoryMB) - memMB,
		FreeDiskGB:         int64(res.LocalGB) - diskGB,
		RunningVMs:         len(insts),
		CurrentWorkload:    workload,
		DiskAvailableLeast: int64(res.DiskAvailableLeast),
		CPUInfo:            res.CPUInfo,
	})
	if err != nil {
		return fmt.Errorf("update_available_resource: writing the compute node: %w", err)
	}
	m.met.setInstances(byState)
	m.log.Debug("Compute node updated", "node", node.HypervisorHostname, "compute_node_id", node.ID,
		"vcpus", node.VCPUs, "vcpus_used", node.VCPUsUsed, "free_ram_mb", node.FreeRAMMB,
		"free_disk_gb", node.FreeDiskGB, "running_vms", node.RunningVMs)
	return nil
}
