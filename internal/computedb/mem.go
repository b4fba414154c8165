package computedb

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/google/uuid"
)

// Mem is the in-memory Store of the embedded default. It keeps rows as Postgres
// would (ids, soft delete, newest-first listing) so it passes the same contract.
type Mem struct {
	mu        sync.Mutex
	now       func() time.Time
	nextNode  int64
	nextInst  int64
	nodes     map[int64]*Node
	instances map[string]*Instance // live ones, by uuid
	deleted   map[string]bool      // uuids ever used, for conflict checks
	claims    map[string]claim     // by instance uuid, live or deleted
	// gone holds deleted rows as Postgres keeps them (vm_state deleted), for
	// the lists that ask for deleted instances and for markers.
	gone map[string]*Instance
	// agg holds the host aggregates (mem_aggregates.go), made on first use.
	agg     *memAggregates
	aggOnce sync.Once
	// rzCopies holds the flavor copies of resizes in progress: the old
	// and the new one (mem_resize.go).
	rzCopies map[string][2]InstanceFlavor
	// acts holds instance actions and events (mem_actions.go).
	acts memActions
	fl   memFlavors  // mem_flavors.go
	kp   memKeyPairs // mem_keypairs.go
	// sg holds quotas and server groups (mem_quota.go), made on first use.
	sg *memGroups
}

// claim is what an instance holds on a node.
type claim struct {
	node int64
	res  Resources
}

// NewMem returns an empty in-memory Store.
func NewMem() *Mem {
	return &Mem{now: func() time.Time { return time.Now().UTC() }, nodes: map[int64]*Node{}, instances: map[string]*Instance{}, deleted: map[string]bool{},
		claims: map[string]claim{}, gone: map[string]*Instance{}}
}

// UpsertNode implements Store.
func (m *Mem) UpsertNode(_ context.Context, n Node) (Node, error) {
	if err := checkNode(n); err != nil {
		return Node{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, cur := range m.nodes {
		if cur.Host == n.Host && cur.HypervisorHostname == n.HypervisorHostname {
			n.ID, n.UUID, n.CreatedAt = cur.ID, cur.UUID, cur.CreatedAt
			// As in Postgres, UpsertNode leaves the ratios and reserved
			// amounts alone (ReportNode writes them).
			n.CPUAllocationRatio, n.RAMAllocationRatio, n.DiskAllocationRatio = cur.CPUAllocationRatio, cur.RAMAllocationRatio, cur.DiskAllocationRatio
			n.VCPUsReserved, n.MemoryMBReserved, n.LocalGBReserved = cur.VCPUsReserved, cur.MemoryMBReserved, cur.LocalGBReserved
			if n.ServiceID == 0 {
				n.ServiceID = cur.ServiceID
			}
			n.UpdatedAt = &now
			*cur = n
			return n, nil
		}
	}
	m.nextNode++
	n.ID, n.UUID, n.CreatedAt, n.UpdatedAt = m.nextNode, uuid.NewString(), now, nil
	n.CPUAllocationRatio, n.RAMAllocationRatio, n.DiskAllocationRatio = 1, 1, 1 // the columns' defaults
	n.VCPUsReserved, n.MemoryMBReserved, n.LocalGBReserved = 0, 0, 0
	cp := n
	m.nodes[n.ID] = &cp
	return n, nil
}

// ListNodes implements Store.
func (m *Mem) ListNodes(context.Context) ([]Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Node, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// GetNode implements Store.
func (m *Mem) GetNode(_ context.Context, id int64) (Node, error) {
	if !validID(id) {
		return Node{}, ErrNotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.nodes[id]; ok {
		return *n, nil
	}
	return Node{}, ErrNotFound
}

// CreateInstance implements Store.
func (m *Mem) CreateInstance(_ context.Context, in Instance) (Instance, error) {
	in, err := prepareInstance(in)
	if err != nil {
		return Instance{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createLocked(in)
}

// prepareInstance gives a new instance its uuid (canonical) and vm state
// and checks its fields, as both stores do before they write it.
func prepareInstance(in Instance) (Instance, error) {
	if in.UUID == "" {
		in.UUID = uuid.NewString()
	}
	canon, ok := canonicalUUID(in.UUID)
	if !ok {
		return Instance{}, invalid("uuid", "is not a uuid")
	}
	in.UUID = canon
	if in.VMState == "" {
		in.VMState = states.VMBuilding
	}
	return in, checkInstance(in)
}

// createLocked stores a checked instance; the caller holds m.mu.
func (m *Mem) createLocked(in Instance) (Instance, error) {
	if _, ok := m.instances[in.UUID]; ok || m.deleted[in.UUID] {
		return Instance{}, fmt.Errorf("%w: instance %s exists", ErrConflict, in.UUID)
	}
	m.nextInst++
	in.ID, in.CreatedAt, in.UpdatedAt, in.TerminatedAt, in.Fault = m.nextInst, m.now(), nil, nil, nil
	in.Locked, in.LockedBy, in.LockedReason = false, "", "" // as Postgres: a new row is unlocked
	in.Resize = nil                                         // as Postgres: a new row is not being resized
	in.Metadata = copyMetadata(in.Metadata)
	in.Tags = normalTags(in.Tags)
	in.Flavor = in.Flavor.clone()
	cp := in
	m.instances[in.UUID] = &cp
	return snapshot(&cp), nil
}

func (m *Mem) get(id string) (*Instance, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return nil, ErrNotFound
	}
	in, ok := m.instances[canon]
	if !ok {
		return nil, ErrNotFound
	}
	return in, nil
}

// GetInstance implements Store.
func (m *Mem) GetInstance(_ context.Context, id string) (Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return Instance{}, err
	}
	return snapshot(in), nil
}

// ListInstances implements Store, with the rules of filter.go.
func (m *Mem) ListInstances(_ context.Context, f InstanceFilter) ([]Instance, error) {
	if err := checkFilter(f); err != nil {
		return nil, err
	}
	keys, err := f.check()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var marker *Instance
	if f.Marker != "" {
		if marker, err = m.markerRow(f.Marker); err != nil {
			return nil, fmt.Errorf("marker %s: %w", f.Marker, err)
		}
	}
	var rows []*Instance
	for _, in := range m.instances {
		if f.pass(in, false) && (marker == nil || compareRows(keys, in, marker) > 0) {
			rows = append(rows, in)
		}
	}
	if f.Deleted != LiveOnly {
		for _, in := range m.gone {
			if f.pass(in, true) && (marker == nil || compareRows(keys, in, marker) > 0) {
				rows = append(rows, in)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool { return compareRows(keys, rows[i], rows[j]) < 0 })
	if f.Limit > 0 && len(rows) > f.Limit {
		rows = rows[:f.Limit]
	}
	out := make([]Instance, len(rows))
	for i, in := range rows {
		out[i] = snapshot(in)
	}
	return out, nil
}

// markerRow is the marker instance, deleted or not.
func (m *Mem) markerRow(id string) (*Instance, error) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return nil, ErrNotFound
	}
	if in, ok := m.instances[u.String()]; ok {
		return in, nil
	}
	if in, ok := m.gone[u.String()]; ok {
		return in, nil
	}
	return nil, ErrNotFound
}

// UpdateInstance implements Store.
func (m *Mem) UpdateInstance(_ context.Context, id string, u InstanceUpdate) (Instance, error) {
	if err := checkUpdate(u); err != nil {
		return Instance{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return Instance{}, err
	}
	if u.ExpectTaskState != nil && in.TaskState != *u.ExpectTaskState {
		return Instance{}, fmt.Errorf("%w: instance %s task state is %q, expected %q", ErrConflict, id, in.TaskState, *u.ExpectTaskState)
	}
	if u.Host != nil {
		in.Host = *u.Host
	}
	if u.Node != nil {
		in.Node = *u.Node
	}
	if u.VMState != nil {
		in.VMState = *u.VMState
	}
	if u.TaskState != nil {
		in.TaskState = *u.TaskState
	}
	if u.PowerState != nil {
		in.PowerState = *u.PowerState
	}
	if u.LaunchedAt != nil {
		t := u.LaunchedAt.UTC()
		in.LaunchedAt = &t
	}
	if u.TerminatedAt != nil {
		t := u.TerminatedAt.UTC()
		in.TerminatedAt = &t
	}
	if u.DisplayName != nil {
		in.DisplayName = *u.DisplayName
	}
	if u.Description != nil {
		in.Description = *u.Description
	}
	if u.Hostname != nil {
		in.Hostname = *u.Hostname
	}
	if u.KeyName != nil {
		in.KeyName = *u.KeyName
	}
	if u.ImageRef != nil {
		in.ImageRef = *u.ImageRef
	}
	if u.Metadata != nil {
		in.Metadata = copyMetadata(*u.Metadata)
	}
	if u.Locked != nil {
		in.Locked = *u.Locked
	}
	if u.LockedBy != nil {
		in.LockedBy = *u.LockedBy
	}
	if u.LockedReason != nil {
		in.LockedReason = *u.LockedReason
	}
	now := m.now()
	if u.Fault != nil {
		f := *u.Fault
		if f.Created.IsZero() {
			f.Created = now
		}
		in.Fault = &f
	}
	in.UpdatedAt = &now
	return snapshot(in), nil
}

// copyMetadata returns a private copy (never nil) so callers cannot alias the
// stored map.
func copyMetadata(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// snapshot is a copy of a stored instance that shares no maps or pointers
// with it.
func snapshot(in *Instance) Instance {
	out := *in
	out.Metadata = copyMetadata(in.Metadata)
	out.Tags = normalTags(in.Tags)
	out.Flavor = in.Flavor.clone()
	if in.Resize != nil {
		r := *in.Resize
		out.Resize = &r
	}
	if in.Fault != nil {
		f := *in.Fault
		out.Fault = &f
	}
	return out
}

// DeleteNodesByHost implements Store.
func (m *Mem) DeleteNodesByHost(_ context.Context, host string) (int, error) {
	if err := checkHost(host); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, node := range m.nodes {
		if node.Host == host {
			delete(m.nodes, id)
			n++
		}
	}
	return n, nil
}

// DeleteInstance implements Store.
func (m *Mem) DeleteInstance(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return err
	}
	m.releaseLocked(in.UUID)
	delete(m.instances, in.UUID)
	m.deleted[in.UUID] = true
	now := m.now()
	in.VMState, in.TaskState, in.UpdatedAt = states.VMDeleted, states.TaskNone, &now
	if in.TerminatedAt == nil {
		in.TerminatedAt = &now
	}
	m.gone[in.UUID] = in
	return nil
}

// CountInstancesByHost implements Store.
func (m *Mem) CountInstancesByHost(_ context.Context, host string) (int, error) {
	if err := checkHost(host); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, in := range m.instances {
		if in.Host == host {
			n++
		}
	}
	return n, nil
}

// EditInstance implements Store.
func (m *Mem) EditInstance(_ context.Context, id string, edit InstanceEdit) (Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := m.get(id)
	if err != nil {
		return Instance{}, err
	}
	meta, tags, err := edit(copyMetadata(in.Metadata), normalTags(in.Tags))
	if err != nil {
		return Instance{}, err
	}
	var c checker
	c.metadata(meta)
	if c.err != nil {
		return Instance{}, c.err
	}
	if err := checkTags(tags); err != nil {
		return Instance{}, err
	}
	now := m.now()
	in.Metadata, in.Tags, in.UpdatedAt = copyMetadata(meta), normalTags(tags), &now
	return snapshot(in), nil
}
