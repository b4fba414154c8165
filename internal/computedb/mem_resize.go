package computedb

import (
	"context"
	"fmt"
)

// Resize claims in memory, under the store's mutex as the other claims. The
// second claim is the instance's Resize itself: its node and held amounts.

// addResize changes the node's usage counters by sign × res without
// counting a running VM: the instance runs once, wherever its claims are.
func (n *Node) addResize(res Resources, sign int64) {
	n.add(res, sign)
	n.RunningVMs -= int(sign)
}

// ClaimResize implements Store.
func (m *Mem) ClaimResize(_ context.Context, r ResizeClaimRequest) (Instance, error) {
	if err := checkFlavorAmounts(r.Flavor); err != nil {
		return Instance{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(r.InstanceUUID)
	if err != nil {
		return Instance{}, err
	}
	if rz := in.Resize; rz != nil {
		if !rz.Finished && rz.NodeID == r.NodeID && rz.NewFlavor == r.Flavor {
			return snapshot(in), nil
		}
		return Instance{}, fmt.Errorf("%w: instance %s is being resized already", ErrConflict, in.UUID)
	}
	if _, ok := m.claims[in.UUID]; !ok {
		return Instance{}, fmt.Errorf("%w: instance %s holds no claim to resize", ErrConflict, in.UUID)
	}
	if r.ExpectTaskState != nil && in.TaskState != *r.ExpectTaskState {
		return Instance{}, fmt.Errorf("%w: instance %s task state is %q, expected %q", ErrConflict, in.UUID, in.TaskState, *r.ExpectTaskState)
	}
	n, ok := m.nodes[r.NodeID]
	if !ok {
		return Instance{}, fmt.Errorf("%w: %d", ErrNodeNotFound, r.NodeID)
	}
	want := r.Flavor.resources()
	if refused := n.refusal(want, r.Ratios); refused != nil {
		return Instance{}, refused
	}
	n.addResize(want, 1)
	if m.rzCopies == nil {
		m.rzCopies = map[string][2]InstanceFlavor{}
	}
	m.rzCopies[in.UUID] = [2]InstanceFlavor{in.Flavor.clone(), r.Copy.clone()}
	in.Resize = &Resize{OldFlavor: FlavorAmounts{ID: in.FlavorID, VCPUs: in.VCPUs, MemoryMB: in.MemoryMB, RootGB: in.RootGB},
		NewFlavor: r.Flavor, NodeID: n.ID}
	m.touch(in)
	return snapshot(in), nil
}

// FinishResize implements Store.
func (m *Mem) FinishResize(_ context.Context, id string) (Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return Instance{}, err
	}
	rz := in.Resize
	switch {
	case rz == nil:
		return Instance{}, fmt.Errorf("%w: instance %s is not being resized", ErrConflict, in.UUID)
	case rz.Finished:
		return snapshot(in), nil
	}
	own, ok := m.claims[in.UUID]
	if !ok {
		return Instance{}, fmt.Errorf("%w: instance %s holds no claim to resize", ErrConflict, in.UUID)
	}
	dest, ok := m.nodes[rz.NodeID]
	if !ok {
		return Instance{}, fmt.Errorf("%w: %d", ErrNodeNotFound, rz.NodeID)
	}
	// The claims swap nodes; each node keeps the amounts it counts.
	m.claims[in.UUID] = claim{node: dest.ID, res: rz.NewFlavor.resources()}
	if src, ok := m.nodes[own.node]; ok {
		src.RunningVMs--
	}
	dest.RunningVMs++
	rz.NodeID, rz.Finished = own.node, true
	m.setFlavor(in, rz.NewFlavor)
	if c, ok := m.rzCopies[in.UUID]; ok {
		in.Flavor = c[1].clone()
	}
	in.Host, in.Node = dest.Host, dest.HypervisorHostname
	m.touch(in)
	return snapshot(in), nil
}

// ConfirmResize implements Store.
func (m *Mem) ConfirmResize(_ context.Context, id string) (Instance, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return Instance{}, false, err
	}
	if !m.releaseResizeLocked(in) {
		return snapshot(in), false, nil
	}
	m.touch(in)
	return snapshot(in), true, nil
}

// RevertResize implements Store.
func (m *Mem) RevertResize(_ context.Context, id string) (Instance, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return Instance{}, false, err
	}
	rz := in.Resize
	switch {
	case rz == nil:
		return snapshot(in), false, nil
	case !rz.Finished:
		return Instance{}, false, fmt.Errorf("%w: the resize of instance %s is not finished", ErrConflict, in.UUID)
	}
	if own, ok := m.claims[in.UUID]; ok {
		if n, ok := m.nodes[own.node]; ok {
			n.add(own.res, -1)
		}
	}
	src, ok := m.nodes[rz.NodeID]
	if !ok {
		delete(m.claims, in.UUID)
		return Instance{}, false, fmt.Errorf("%w: %d", ErrNodeNotFound, rz.NodeID)
	}
	src.RunningVMs++
	m.claims[in.UUID] = claim{node: src.ID, res: rz.OldFlavor.resources()}
	m.setFlavor(in, rz.OldFlavor)
	if c, ok := m.rzCopies[in.UUID]; ok {
		in.Flavor = c[0].clone()
		delete(m.rzCopies, in.UUID)
	}
	in.Host, in.Node, in.Resize = src.Host, src.HypervisorHostname, nil
	m.touch(in)
	return snapshot(in), true, nil
}

// releaseResizeLocked gives the second claim of in back and ends its
// resize; it reports whether there was one.
func (m *Mem) releaseResizeLocked(in *Instance) bool {
	if in.Resize == nil {
		return false
	}
	if n, ok := m.nodes[in.Resize.NodeID]; ok {
		n.addResize(in.Resize.held(), -1)
	}
	delete(m.rzCopies, in.UUID)
	in.Resize = nil
	return true
}

func (m *Mem) setFlavor(in *Instance, f FlavorAmounts) {
	in.FlavorID, in.VCPUs, in.MemoryMB, in.RootGB = f.ID, f.VCPUs, f.MemoryMB, f.RootGB
}

func (m *Mem) touch(in *Instance) {
	now := m.now()
	in.UpdatedAt = &now
}
