package manager

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// UpdateAvailableResource is nova's update_available_resource periodic task
// (the resource tracker, for the host's single node): it takes the capacity
// and hypervisor details from the driver and writes the compute_nodes row
// with the service id learnt in PreStartHook, the reserved amounts and the
// allocation ratios (computedb.Store.ReportNode). It also updates
// gonova_compute_instances.
//
// The usage (vcpus_used, memory_mb_used, local_gb_used, free_*,
// running_vms) is not this task's to write: the claims own it. ReportNode
// recomputes it from the claims the instances hold on the node, under the
// node's row lock, so a report never undoes a claim made meanwhile by an API
// process or a build, and a counter that drifted (a crash between two writes
// cannot cause one, but an operator's UPDATE can) is healed. memory_mb_used
// and local_gb_used include the reserved amounts, as in nova.
//
// current_workload counts the instances being built or with a task in
// progress (nova counts a fixed list of task states).
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
		workload int
		byState  = map[states.VMState]int{}
	)
	for _, in := range insts {
		byState[in.VMState]++
		if in.VMState == states.VMBuilding || in.TaskState != states.TaskNone {
			workload++
		}
	}
	m.mu.Lock()
	serviceID := m.serviceID
	m.mu.Unlock()
	node, err := m.store.ReportNode(ctx, computedb.Node{
		ServiceID:           serviceID,
		Host:                m.host,
		HypervisorHostname:  res.HypervisorHostname,
		HypervisorType:      res.HypervisorType,
		HypervisorVersion:   int64(res.HypervisorVersion),
		HostIP:              m.hostIP,
		VCPUs:               res.VCPUs,
		MemoryMB:            int64(res.MemoryMB),
		LocalGB:             int64(res.LocalGB),
		CurrentWorkload:     workload,
		DiskAvailableLeast:  int64(res.DiskAvailableLeast),
		CPUInfo:             res.CPUInfo,
		CPUAllocationRatio:  m.ratios.CPU,
		RAMAllocationRatio:  m.ratios.RAM,
		DiskAllocationRatio: m.ratios.Disk,
		VCPUsReserved:       int(m.reserved.VCPUs),
		MemoryMBReserved:    m.reserved.MemoryMB,
		LocalGBReserved:     m.reserved.LocalGB,
	}, m.initialRatios)
	if err != nil {
		return fmt.Errorf("update_available_resource: writing the compute node: %w", err)
	}
	m.mu.Lock()
	m.nodeID = node.ID
	m.mu.Unlock()
	if node.VCPUsUsed != res.VCPUsUsed || node.MemoryMBUsed-node.MemoryMBReserved != int64(res.MemoryMBUsed) ||
		node.LocalGBUsed-node.LocalGBReserved != int64(res.LocalGBUsed) {
		m.log.Debug("The hypervisor's usage differs from the claims held on this node; the claims count",
			"claimed_vcpus", node.VCPUsUsed, "hv_vcpus_used", res.VCPUsUsed,
			"claimed_memory_mb", node.MemoryMBUsed-node.MemoryMBReserved, "hv_memory_mb_used", res.MemoryMBUsed,
			"claimed_local_gb", node.LocalGBUsed-node.LocalGBReserved, "hv_local_gb_used", res.LocalGBUsed)
	}
	m.met.setInstances(byState)
	m.log.Debug("Compute node updated", "node", node.HypervisorHostname, "compute_node_id", node.ID,
		"vcpus", node.VCPUs, "vcpus_used", node.VCPUsUsed, "free_ram_mb", node.FreeRAMMB,
		"free_disk_gb", node.FreeDiskGB, "running_vms", node.RunningVMs)
	return nil
}

// nodeRow returns the id of this host's compute_nodes row, reporting the
// resources first when no report succeeded yet.
func (m *ComputeManager) nodeRow(ctx context.Context) (int64, error) {
	m.mu.Lock()
	id := m.nodeID
	m.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	if err := m.UpdateAvailableResource(ctx); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodeID, nil
}
