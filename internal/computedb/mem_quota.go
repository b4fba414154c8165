package computedb

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// Quotas and server groups in memory: every count, check and write happens
// under the store's mutex, which is what the Postgres store's per-project
// advisory lock and group row lock achieve across processes.

type quotaKey struct{ project, user, resource string }

// memGroups is the in-memory server group state of a Mem.
type memGroups struct {
	quotas  map[quotaKey]int
	classes map[string]QuotaLimits
	groups  map[string]*ServerGroup // by uuid; Members holds every member, live or not
	next    int64
	ofInst  map[string]string // instance uuid -> group uuid
}

func (m *Mem) groupsLocked() *memGroups {
	if m.sg == nil {
		m.sg = &memGroups{quotas: map[quotaKey]int{}, classes: map[string]QuotaLimits{}, groups: map[string]*ServerGroup{}, ofInst: map[string]string{}}
	}
	return m.sg
}

// ListQuotas implements Store.
func (m *Mem) ListQuotas(_ context.Context, project string) ([]QuotaRow, error) {
	if err := checkReadIDs(project); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.quotaRowsLocked(project), nil
}

func (m *Mem) quotaRowsLocked(project string) []QuotaRow {
	var out []QuotaRow
	for k, v := range m.groupsLocked().quotas {
		if k.project == project {
			out = append(out, QuotaRow{ProjectID: k.project, UserID: k.user, Resource: k.resource, Limit: v})
		}
	}
	slices.SortFunc(out, func(a, b QuotaRow) int {
		if a.UserID != b.UserID {
			return compareStrings(a.UserID, b.UserID)
		}
		return compareStrings(a.Resource, b.Resource)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetQuotas implements Store.
func (m *Mem) SetQuotas(_ context.Context, project, user string, limits QuotaLimits) error {
	for r, v := range limits {
		if err := checkQuotaRow(project, user, r, v); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for r, v := range limits {
		m.groupsLocked().quotas[quotaKey{project, user, r}] = v
	}
	return nil
}

// DeleteQuotas implements Store.
func (m *Mem) DeleteQuotas(_ context.Context, project, user string) error {
	if err := checkReadIDs(project, user); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.groupsLocked().quotas {
		if k.project == project && (user == "" || k.user == user) {
			delete(m.sg.quotas, k)
		}
	}
	return nil
}

// CountUsage implements Store.
func (m *Mem) CountUsage(_ context.Context, project, user string) (Usage, error) {
	if err := checkReadIDs(project, user); err != nil {
		return Usage{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.countLocked(project, user)
	for _, g := range m.groupsLocked().groups {
		if g.ProjectID == project && (user == "" || g.UserID == user) {
			u.ServerGroups++
		}
	}
	return u, nil
}

func (m *Mem) countLocked(project, user string) Usage {
	var u Usage
	for _, in := range m.instances {
		if in.ProjectID == project && (user == "" || in.UserID == user) {
			u.Instances++
			u.Cores += int64(in.VCPUs)
			u.RAM += in.MemoryMB
		}
	}
	return u
}

// liveMembersLocked returns the group's members whose instance is live,
// and how many of them belong to user ("" for all).
func (m *Mem) liveMembersLocked(g *ServerGroup, user string) ([]string, int64) {
	var live []string
	var ofUser int64
	for _, id := range g.Members {
		if in, ok := m.instances[id]; ok {
			live = append(live, id)
			if user == "" || in.UserID == user {
				ofUser++
			}
		}
	}
	return live, ofUser
}

// CreateInstanceInQuota implements Store.
func (m *Mem) CreateInstanceInQuota(_ context.Context, in Instance, q InstanceQuota) (Instance, error) {
	in, err := prepareInstance(in)
	if err != nil {
		return Instance{}, err
	}
	m.mu.Lock()
	rows := m.quotaRowsLocked(in.ProjectID)
	proj := m.countLocked(in.ProjectID, "")
	var user *Usage
	if countedPerUser(rows, in.UserID) {
		u := m.countLocked(in.ProjectID, in.UserID)
		user = &u
	}
	defaults := withClass(q.Defaults, m.groupsLocked().classes[DefaultQuotaClass])
	if over := checkInstanceQuota(rows, in.UserID, defaults, &proj, user, instanceDeltas(in)); over != nil {
		m.mu.Unlock()
		return Instance{}, over
	}
	var g *ServerGroup
	if q.Group != "" {
		canon, _ := canonicalUUID(q.Group)
		var ok bool
		if g, ok = m.groupsLocked().groups[canon]; !ok {
			m.mu.Unlock()
			return Instance{}, fmt.Errorf("%w: server group %s", ErrNotFound, q.Group)
		}
		_, mine := m.liveMembersLocked(g, in.UserID)
		if err := checkGroupMembersQuota(rows, in.UserID, defaults, mine); err != nil {
			m.mu.Unlock()
			return Instance{}, err
		}
	}
	// Still under the lock that the counts were taken under.
	out, err := m.createLocked(in)
	if err == nil && g != nil {
		g.Members = append(g.Members, out.UUID)
		m.sg.ofInst[out.UUID] = g.UUID
	}
	m.mu.Unlock()
	return out, err
}

// CreateServerGroup implements Store.
func (m *Mem) CreateServerGroup(_ context.Context, g ServerGroup, defaults QuotaLimits) (ServerGroup, error) {
	if g.UUID == "" {
		g.UUID = uuid.NewString()
	}
	canon, ok := canonicalUUID(g.UUID)
	if !ok {
		return ServerGroup{}, invalid("uuid", "is not a uuid")
	}
	g.UUID = canon
	if err := checkServerGroup(g); err != nil {
		return ServerGroup{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sg := m.groupsLocked()
	if _, ok := sg.groups[g.UUID]; ok {
		return ServerGroup{}, fmt.Errorf("%w: server group %s exists", ErrConflict, g.UUID)
	}
	if defaults != nil {
		var proj, byUser int64
		for _, o := range sg.groups {
			if o.ProjectID == g.ProjectID {
				proj++
				if o.UserID == g.UserID {
					byUser++
				}
			}
		}
		defaults = withClass(defaults, sg.classes[DefaultQuotaClass])
		if err := checkServerGroupsQuota(m.quotaRowsLocked(g.ProjectID), g.UserID, defaults, proj, byUser); err != nil {
			return ServerGroup{}, err
		}
	}
	sg.next++
	g.ID, g.CreatedAt, g.Members = sg.next, m.now(), nil
	cp := g
	sg.groups[g.UUID] = &cp
	return m.groupViewLocked(&cp), nil
}

func (m *Mem) groupViewLocked(g *ServerGroup) ServerGroup {
	out := *g
	out.Members, _ = m.liveMembersLocked(g, "")
	if out.Members == nil {
		out.Members = []string{}
	}
	return out
}

// GetServerGroup implements Store.
func (m *Mem) GetServerGroup(_ context.Context, id string) (ServerGroup, error) {
	canon, ok := canonicalUUID(id)
	if !ok {
		return ServerGroup{}, ErrNotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groupsLocked().groups[canon]
	if !ok {
		return ServerGroup{}, ErrNotFound
	}
	return m.groupViewLocked(g), nil
}

// ListServerGroups implements Store.
func (m *Mem) ListServerGroups(_ context.Context, project string) ([]ServerGroup, error) {
	if err := checkReadIDs(project); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []ServerGroup{}
	for _, g := range m.groupsLocked().groups {
		if project == "" || g.ProjectID == project {
			out = append(out, m.groupViewLocked(g))
		}
	}
	slices.SortFunc(out, func(a, b ServerGroup) int { return int(a.ID - b.ID) })
	return out, nil
}

// DeleteServerGroup implements Store.
func (m *Mem) DeleteServerGroup(_ context.Context, id string) error {
	canon, ok := canonicalUUID(id)
	if !ok {
		return ErrNotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sg := m.groupsLocked()
	g, ok := sg.groups[canon]
	if !ok {
		return ErrNotFound
	}
	for _, member := range g.Members {
		delete(sg.ofInst, member)
	}
	delete(sg.groups, canon)
	return nil
}

// ServerGroupOfInstance implements Store.
func (m *Mem) ServerGroupOfInstance(_ context.Context, instanceUUID string) (ServerGroup, error) {
	canon, ok := canonicalUUID(instanceUUID)
	if !ok {
		return ServerGroup{}, ErrNotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sg := m.groupsLocked()
	g, ok := sg.groups[sg.ofInst[canon]]
	if !ok {
		return ServerGroup{}, ErrNotFound
	}
	return m.groupViewLocked(g), nil
}

// groupRefusalLocked checks the claim of inst on node n against the hard
// policy of its group (GroupClaim).
func (m *Mem) groupRefusalLocked(gc *GroupClaim, inst *Instance, n *Node) error {
	if gc == nil {
		return nil
	}
	canon, _ := canonicalUUID(gc.UUID)
	g, ok := m.groupsLocked().groups[canon]
	if !ok {
		return nil // deleted meanwhile: nothing to keep
	}
	byHost := map[string]int{}
	for _, id := range g.Members {
		if o, ok := m.instances[id]; ok && o.UUID != inst.UUID && o.Host != "" {
			byHost[o.Host]++
		}
	}
	if !hostAllowed(g.Policy, g.MaxServerPerHost, byHost, n.Host) {
		return &GroupPolicyError{Group: g.UUID, Policy: g.Policy, Host: n.Host}
	}
	return nil
}

// ListQuotaClass implements Store.
func (m *Mem) ListQuotaClass(_ context.Context, name string) (QuotaLimits, error) {
	if err := checkReadIDs(name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return withClass(nil, m.groupsLocked().classes[name]), nil
}

// SetQuotaClass implements Store.
func (m *Mem) SetQuotaClass(_ context.Context, name string, limits QuotaLimits) error {
	if err := checkQuotaClass(name, limits); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sg := m.groupsLocked()
	sg.classes[name] = withClass(sg.classes[name], limits)
	return nil
}
