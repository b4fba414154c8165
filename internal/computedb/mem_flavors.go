package computedb

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// memFlavors is the in-memory store's flavors, by flavorid, and their
// access lists (by flavorid, then project).
type memFlavors struct {
	next   int64
	byID   map[string]*Flavor
	access map[string]map[string]bool
}

// flavors returns m's flavor tables, made on first use (m.mu held).
func (m *Mem) flavors() *memFlavors {
	if m.fl.byID == nil {
		m.fl.byID, m.fl.access = map[string]*Flavor{}, map[string]map[string]bool{}
	}
	return &m.fl
}

// visible reports whether scope sees f.
func (fl *memFlavors) visible(f *Flavor, scope FlavorScope) bool {
	return scope.Admin || f.IsPublic || fl.access[f.FlavorID][scope.ProjectID]
}

// CreateFlavor implements FlavorStore.
func (m *Mem) CreateFlavor(_ context.Context, f Flavor) (Flavor, error) {
	if err := checkFlavor(f); err != nil {
		return Flavor{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	if _, ok := fl.byID[f.FlavorID]; ok {
		return Flavor{}, &FlavorExistsError{FlavorID: f.FlavorID}
	}
	for _, cur := range fl.byID {
		if cur.Name == f.Name {
			return Flavor{}, &FlavorExistsError{Name: f.Name}
		}
	}
	fl.next++
	f.ID, f.CreatedAt, f.UpdatedAt = fl.next, m.now(), nil
	f = cloneFlavor(f)
	fl.byID[f.FlavorID] = &f
	return cloneFlavor(f), nil
}

// GetFlavor implements FlavorStore.
func (m *Mem) GetFlavor(_ context.Context, flavorID string, scope FlavorScope) (Flavor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	f, ok := fl.byID[flavorID]
	if !ok || !fl.visible(f, scope) {
		return Flavor{}, ErrNotFound
	}
	return cloneFlavor(*f), nil
}

// ListFlavors implements FlavorStore.
func (m *Mem) ListFlavors(_ context.Context, filter FlavorFilter) ([]Flavor, error) {
	if err := filter.checkSort(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	var marker *Flavor
	if filter.Marker != "" {
		mk, ok := fl.byID[filter.Marker]
		if !ok || !fl.visible(mk, filter.Scope) {
			return nil, fmt.Errorf("marker %s: %w", filter.Marker, ErrNotFound)
		}
		marker = mk
	}
	order := func(a, b *Flavor) int {
		c := compareFlavors(filter.SortKey, a, b)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if filter.SortDesc {
			c = -c
		}
		return c
	}
	var rows []*Flavor
	for _, f := range fl.byID {
		if !fl.visible(f, filter.Scope) || !fl.pass(f, &filter) {
			continue
		}
		if marker != nil && order(f, marker) <= 0 {
			continue
		}
		rows = append(rows, f)
	}
	slices.SortFunc(rows, order)
	if filter.Limit > 0 && len(rows) > filter.Limit {
		rows = rows[:filter.Limit]
	}
	out := make([]Flavor, len(rows))
	for i, f := range rows {
		out[i] = cloneFlavor(*f)
	}
	return out, nil
}

func (fl *memFlavors) pass(f *Flavor, filter *FlavorFilter) bool {
	if filter.MinMemoryMB != nil && f.MemoryMB < *filter.MinMemoryMB {
		return false
	}
	if filter.MinRootGB != nil && f.RootGB < *filter.MinRootGB {
		return false
	}
	if filter.Disabled != nil && f.Disabled != *filter.Disabled {
		return false
	}
	if p := filter.IsPublic; p != nil {
		if *p {
			return f.IsPublic || fl.access[f.FlavorID][filter.Scope.ProjectID]
		}
		return !f.IsPublic
	}
	return true
}

// compareFlavors orders a and b by key as Postgres does (NULL after every
// value, text in the C collation, false before true).
func compareFlavors(key string, a, b *Flavor) int {
	nullable := func(x, y any) int {
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		switch xv := x.(type) {
		case string:
			return strings.Compare(xv, y.(string))
		case time.Time:
			return xv.Compare(y.(time.Time))
		}
		return 0
	}
	b2i := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	switch key {
	case "created_at":
		return a.CreatedAt.Compare(b.CreatedAt)
	case "description":
		var x, y any
		if a.Description != nil {
			x = *a.Description
		}
		if b.Description != nil {
			y = *b.Description
		}
		return nullable(x, y)
	case "disabled":
		return cmp.Compare(b2i(a.Disabled), b2i(b.Disabled))
	case "is_public":
		return cmp.Compare(b2i(a.IsPublic), b2i(b.IsPublic))
	case "ephemeral_gb":
		return cmp.Compare(a.EphemeralGB, b.EphemeralGB)
	case "flavorid":
		return strings.Compare(a.FlavorID, b.FlavorID)
	case "id":
		return cmp.Compare(a.ID, b.ID)
	case "memory_mb":
		return cmp.Compare(a.MemoryMB, b.MemoryMB)
	case "name":
		return strings.Compare(a.Name, b.Name)
	case "root_gb":
		return cmp.Compare(a.RootGB, b.RootGB)
	case "rxtx_factor":
		return cmp.Compare(a.RXTXFactor, b.RXTXFactor)
	case "swap":
		return cmp.Compare(a.Swap, b.Swap)
	case "updated_at":
		var x, y any
		if a.UpdatedAt != nil {
			x = *a.UpdatedAt
		}
		if b.UpdatedAt != nil {
			y = *b.UpdatedAt
		}
		return nullable(x, y)
	case "vcpus":
		return cmp.Compare(a.VCPUs, b.VCPUs)
	}
	return 0 // vcpu_weight: NULL in every gonova flavor
}

// UpdateFlavorDescription implements FlavorStore.
func (m *Mem) UpdateFlavorDescription(_ context.Context, flavorID string, description *string) (Flavor, error) {
	if description != nil {
		var c checker
		c.text("description", *description, 65535)
		if c.err != nil {
			return Flavor{}, c.err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flavors().byID[flavorID]
	if !ok {
		return Flavor{}, ErrNotFound
	}
	now := m.now()
	f.UpdatedAt = &now
	f.Description = nil
	if description != nil {
		d := *description
		f.Description = &d
	}
	return cloneFlavor(*f), nil
}

// DeleteFlavor implements FlavorStore.
func (m *Mem) DeleteFlavor(_ context.Context, flavorID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	if _, ok := fl.byID[flavorID]; !ok {
		return ErrNotFound
	}
	delete(fl.byID, flavorID)
	delete(fl.access, flavorID)
	return nil
}

// SetFlavorExtraSpecs implements FlavorStore.
func (m *Mem) SetFlavorExtraSpecs(_ context.Context, flavorID string, specs map[string]string) (Flavor, error) {
	if err := checkSpecs(specs); err != nil {
		return Flavor{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flavors().byID[flavorID]
	if !ok {
		return Flavor{}, ErrNotFound
	}
	for k, v := range specs {
		f.ExtraSpecs[k] = v
	}
	return cloneFlavor(*f), nil
}

// DeleteFlavorExtraSpec implements FlavorStore.
func (m *Mem) DeleteFlavorExtraSpec(_ context.Context, flavorID, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flavors().byID[flavorID]
	if !ok {
		return ErrNotFound
	}
	if _, ok := f.ExtraSpecs[key]; !ok {
		return ErrExtraSpecNotFound
	}
	delete(f.ExtraSpecs, key)
	return nil
}

// FlavorProjects implements FlavorStore.
func (m *Mem) FlavorProjects(_ context.Context, flavorID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	if _, ok := fl.byID[flavorID]; !ok {
		return nil, ErrNotFound
	}
	out := []string{}
	for p := range fl.access[flavorID] {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// AddFlavorProject implements FlavorStore.
func (m *Mem) AddFlavorProject(_ context.Context, flavorID, project string) error {
	var c checker
	c.text("project_id", project, MaxFieldLength)
	if c.err != nil {
		return c.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	if _, ok := fl.byID[flavorID]; !ok {
		return ErrNotFound
	}
	if fl.access[flavorID][project] {
		return fmt.Errorf("%w: project %s has access to flavor %s", ErrConflict, project, flavorID)
	}
	if fl.access[flavorID] == nil {
		fl.access[flavorID] = map[string]bool{}
	}
	fl.access[flavorID][project] = true
	return nil
}

// RemoveFlavorProject implements FlavorStore.
func (m *Mem) RemoveFlavorProject(_ context.Context, flavorID, project string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fl := m.flavors()
	if _, ok := fl.byID[flavorID]; !ok {
		return ErrNotFound
	}
	if !fl.access[flavorID][project] {
		return ErrFlavorAccessNotFound
	}
	delete(fl.access[flavorID], project)
	return nil
}
