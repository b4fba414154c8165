package computedb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/google/uuid"
)

// memAggregates is Mem's aggregate table; its own lock, as the API
// database is another database than the cell's in nova.
type memAggregates struct {
	mu   sync.Mutex
	next int64
	rows map[int64]*Aggregate
}

func (m *Mem) aggs() *memAggregates {
	m.aggOnce.Do(func() { m.agg = &memAggregates{rows: map[int64]*Aggregate{}} })
	return m.agg
}

func copyAggregate(a *Aggregate) Aggregate {
	out := *a
	out.Hosts = slices.Clone(a.Hosts)
	if out.Hosts == nil {
		out.Hosts = []string{}
	}
	out.Metadata = maps.Clone(a.Metadata)
	return out
}

func (ma *memAggregates) nameTaken(name string, except int64) bool {
	for id, a := range ma.rows {
		if id != except && a.Name == name {
			return true
		}
	}
	return false
}

// CreateAggregate implements Store.
func (m *Mem) CreateAggregate(_ context.Context, name string, metadata map[string]string) (Aggregate, error) {
	if err := checkAggregateName(name); err != nil {
		return Aggregate{}, err
	}
	set := map[string]*string{}
	for k, v := range metadata {
		set[k] = &v
	}
	if err := checkAggregateMetadata(set); err != nil {
		return Aggregate{}, err
	}
	ma := m.aggs()
	ma.mu.Lock()
	defer ma.mu.Unlock()
	if ma.nameTaken(name, 0) {
		return Aggregate{}, fmt.Errorf("%w: %s", ErrAggregateNameExists, name)
	}
	ma.next++
	a := &Aggregate{ID: ma.next, UUID: uuid.NewString(), Name: name, Hosts: []string{},
		Metadata: maps.Clone(metadata), CreatedAt: m.now()}
	if a.Metadata == nil {
		a.Metadata = map[string]string{}
	}
	ma.rows[a.ID] = a
	return copyAggregate(a), nil
}

// GetAggregate implements Store.
func (m *Mem) GetAggregate(_ context.Context, id int64) (Aggregate, error) {
	ma := m.aggs()
	ma.mu.Lock()
	defer ma.mu.Unlock()
	a, ok := ma.rows[id]
	if !ok {
		return Aggregate{}, ErrNotFound
	}
	return copyAggregate(a), nil
}

// ListAggregates implements Store.
func (m *Mem) ListAggregates(context.Context) ([]Aggregate, error) {
	ma := m.aggs()
	ma.mu.Lock()
	defer ma.mu.Unlock()
	out := make([]Aggregate, 0, len(ma.rows))
	for _, a := range ma.rows {
		out = append(out, copyAggregate(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// change runs f on aggregate id under the lock, sets updated_at when f
// succeeds, and returns the aggregate.
func (m *Mem) changeAggregate(id int64, f func(ma *memAggregates, a *Aggregate) error) (Aggregate, error) {
	ma := m.aggs()
	ma.mu.Lock()
	defer ma.mu.Unlock()
	a, ok := ma.rows[id]
	if !ok {
		return Aggregate{}, ErrNotFound
	}
	if err := f(ma, a); err != nil {
		return Aggregate{}, err
	}
	now := m.now()
	a.UpdatedAt = &now
	return copyAggregate(a), nil
}

// RenameAggregate implements Store.
func (m *Mem) RenameAggregate(_ context.Context, id int64, name string) (Aggregate, error) {
	if err := checkAggregateName(name); err != nil {
		return Aggregate{}, err
	}
	return m.changeAggregate(id, func(ma *memAggregates, a *Aggregate) error {
		if ma.nameTaken(name, id) {
			return fmt.Errorf("%w: %s", ErrAggregateNameExists, name)
		}
		a.Name = name
		return nil
	})
}

// UpdateAggregateMetadata implements Store.
func (m *Mem) UpdateAggregateMetadata(_ context.Context, id int64, set map[string]*string) (Aggregate, error) {
	if err := checkAggregateMetadata(set); err != nil {
		return Aggregate{}, err
	}
	return m.changeAggregate(id, func(_ *memAggregates, a *Aggregate) error {
		for k, v := range set {
			if v == nil {
				delete(a.Metadata, k)
			} else {
				a.Metadata[k] = *v
			}
		}
		return nil
	})
}

// AddAggregateHost implements Store.
func (m *Mem) AddAggregateHost(_ context.Context, id int64, host string) (Aggregate, error) {
	if err := checkHostName(host); err != nil {
		return Aggregate{}, err
	}
	return m.changeAggregate(id, func(_ *memAggregates, a *Aggregate) error {
		if slices.Contains(a.Hosts, host) {
			return fmt.Errorf("%w: %s", ErrAggregateHostExists, host)
		}
		a.Hosts = append(a.Hosts, host)
		return nil
	})
}

// RemoveAggregateHost implements Store.
func (m *Mem) RemoveAggregateHost(_ context.Context, id int64, host string) (Aggregate, error) {
	return m.changeAggregate(id, func(_ *memAggregates, a *Aggregate) error {
		i := slices.Index(a.Hosts, host)
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrAggregateHostNotFound, host)
		}
		a.Hosts = slices.Delete(a.Hosts, i, i+1)
		return nil
	})
}

// DeleteAggregate implements Store.
func (m *Mem) DeleteAggregate(_ context.Context, id int64) error {
	ma := m.aggs()
	ma.mu.Lock()
	defer ma.mu.Unlock()
	a, ok := ma.rows[id]
	if !ok {
		return ErrNotFound
	}
	if len(a.Hosts) > 0 {
		return ErrAggregateNotEmpty
	}
	delete(ma.rows, id)
	return nil
}
