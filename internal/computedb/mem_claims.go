package computedb

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// Claims in memory: every check and write happens under the store's mutex,
// which is what the conditional writes of the Postgres store achieve across
// processes.

// ClaimInstance implements Store.
func (m *Mem) ClaimInstance(_ context.Context, r ClaimRequest) (Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(r.InstanceUUID) // any spelling canonicalUUID takes
	if err != nil {
		return Instance{}, err
	}
	if c, ok := m.claims[in.UUID]; ok {
		if c.node == r.NodeID {
			return snapshot(in), nil
		}
		return Instance{}, fmt.Errorf("%w: instance %s holds a claim on compute node %d, not %d", ErrConflict, in.UUID, c.node, r.NodeID)
	}
	if r.ExpectTaskState != nil && in.TaskState != *r.ExpectTaskState {
		return Instance{}, fmt.Errorf("%w: instance %s task state is %q, expected %q", ErrConflict, in.UUID, in.TaskState, *r.ExpectTaskState)
	}
	n, ok := m.nodes[r.NodeID]
	if !ok {
		return Instance{}, fmt.Errorf("%w: %d", ErrNodeNotFound, r.NodeID)
	}
	if err := m.groupRefusalLocked(r.Group, in, n); err != nil {
		return Instance{}, err
	}
	want := Resources{int64(in.VCPUs), in.MemoryMB, in.RootGB}
	if refused := n.refusal(want, r.Ratios); refused != nil {
		return Instance{}, refused
	}
	m.claims[in.UUID] = claim{node: n.ID, res: want}
	n.add(want, 1)
	in.Host, in.Node = n.Host, n.HypervisorHostname
	if r.AvailabilityZone != "" {
		in.AvailabilityZone = r.AvailabilityZone
	}
	now := m.now()
	in.UpdatedAt = &now
	return snapshot(in), nil
}

// add changes the node's usage counters by sign × res.
func (n *Node) add(res Resources, sign int64) {
	n.VCPUsUsed += int(sign * res.VCPUs)
	n.MemoryMBUsed += sign * res.MemoryMB
	n.LocalGBUsed += sign * res.LocalGB
	n.FreeRAMMB -= sign * res.MemoryMB
	n.FreeDiskGB -= sign * res.LocalGB
	n.RunningVMs += int(sign)
}

// ReleaseClaim implements Store.
func (m *Mem) ReleaseClaim(_ context.Context, id string) (bool, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.releaseLocked(canon), nil
}

func (m *Mem) releaseLocked(id string) bool {
	released := false
	if in, ok := m.instances[id]; ok {
		released = m.releaseResizeLocked(in)
	} else if in, ok := m.gone[id]; ok {
		released = m.releaseResizeLocked(in)
	}
	c, ok := m.claims[id]
	if !ok {
		return released
	}
	delete(m.claims, id)
	if n, ok := m.nodes[c.node]; ok {
		n.add(c.res, -1)
	}
	return true
}

// ReportNode implements Store.
func (m *Mem) ReportNode(_ context.Context, n Node, initial AllocationRatios) (Node, error) {
	if err := checkNode(n); err != nil {
		return Node{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var cur *Node
	for _, c := range m.nodes {
		if c.Host == n.Host && c.HypervisorHostname == n.HypervisorHostname {
			cur = c
		}
	}
	ratios := initial.orOne().over(n.Ratios())
	if cur == nil {
		m.nextNode++
		cur = &Node{ID: m.nextNode, UUID: uuid.NewString(), CreatedAt: now}
		m.nodes[cur.ID] = cur
	} else {
		ratios = cur.Ratios().over(n.Ratios())
		cur.UpdatedAt = &now
		if n.ServiceID == 0 {
			n.ServiceID = cur.ServiceID
		}
	}
	id, uid, created, updated := cur.ID, cur.UUID, cur.CreatedAt, cur.UpdatedAt
	*cur = n
	cur.ID, cur.UUID, cur.CreatedAt, cur.UpdatedAt = id, uid, created, updated
	cur.CPUAllocationRatio, cur.RAMAllocationRatio, cur.DiskAllocationRatio = ratios.CPU, ratios.RAM, ratios.Disk
	var held Resources
	count := 0
	for _, c := range m.claims {
		if c.node == id {
			held.VCPUs += c.res.VCPUs
			held.MemoryMB += c.res.MemoryMB
			held.LocalGB += c.res.LocalGB
			count++
		}
	}
	for _, in := range m.instances {
		if rz := in.Resize; rz != nil && rz.NodeID == id {
			r := rz.held()
			held.VCPUs += r.VCPUs
			held.MemoryMB += r.MemoryMB
			held.LocalGB += r.LocalGB
		}
	}
	cur.VCPUsUsed = int(held.VCPUs)
	cur.MemoryMBUsed = cur.MemoryMBReserved + held.MemoryMB
	cur.LocalGBUsed = cur.LocalGBReserved + held.LocalGB
	cur.FreeRAMMB = cur.MemoryMB - cur.MemoryMBUsed
	cur.FreeDiskGB = cur.LocalGB - cur.LocalGBUsed
	cur.RunningVMs = count
	return *cur, nil
}
