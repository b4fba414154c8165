package memstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/registry"
)

// Store is an in-memory registry.Store. The zero value is not usable; call New.
type Store struct {
	clk clock.Clock

	mu     sync.Mutex
	nextID int64
	rows   map[int64]*registry.Service // every row, live and soft-deleted
}

var _ registry.Store = (*Store)(nil)

// New returns an empty Store whose clock is clk (nil: the real clock).
func New(clk clock.Clock) *Store {
	return &Store{clk: clock.OrReal(clk), rows: map[int64]*registry.Service{}}
}

// now reads the store's clock in UTC, rounded to microseconds as Postgres
// stores timestamps, so both stores return the same values.
func (s *Store) now() time.Time { return s.clk.Now().UTC().Round(time.Microsecond) }

// Create implements registry.Store.
func (s *Store) Create(ctx context.Context, n registry.NewService) (registry.Service, error) {
	if err := ctx.Err(); err != nil {
		return registry.Service{}, err
	}
	if err := n.Validate(); err != nil {
		return registry.Service{}, err
	}
	id := uuid.NewString()
	if n.UUID != "" {
		id, _ = registry.ParseUUID(n.UUID) // validated above
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		dup := func(key string) error {
			return &registry.DuplicateError{Key: key, Host: n.Host, Binary: n.Binary, Topic: n.Topic}
		}
		switch {
		case r.UUID == id:
			return registry.Service{}, dup("uuid")
		case r.IsDeleted():
		case r.Host == n.Host && r.Binary == n.Binary:
			return registry.Service{}, dup("host+binary")
		case n.Topic != "" && r.Host == n.Host && r.Topic == n.Topic:
			return registry.Service{}, dup("host+topic")
		}
	}
	s.nextID++
	row := &registry.Service{
		ID: s.nextID, UUID: id, Host: n.Host, Binary: n.Binary, Topic: n.Topic,
		Disabled: n.Disabled, DisabledReason: n.DisabledReason, Version: n.Version,
		CreatedAt: s.now(),
	}
	s.rows[row.ID] = row
	return copyOf(row), nil
}

// Get implements registry.Store.
func (s *Store) Get(ctx context.Context, id int64) (registry.Service, error) {
	return s.find(ctx, fmt.Sprintf("service %d", id), func(r *registry.Service) bool { return r.ID == id })
}

// GetByUUID implements registry.Store.
func (s *Store) GetByUUID(ctx context.Context, id string) (registry.Service, error) {
	canon, err := registry.ParseUUID(id)
	if err != nil {
		return registry.Service{}, err
	}
	return s.find(ctx, "service "+canon, func(r *registry.Service) bool { return r.UUID == canon })
}

// GetByHostBinary implements registry.Store.
func (s *Store) GetByHostBinary(ctx context.Context, host, binary string) (registry.Service, error) {
	if err := (registry.Filter{Host: host, Binary: binary}).Validate(); err != nil {
		return registry.Service{}, err
	}
	return s.find(ctx, fmt.Sprintf("service %s on %s", binary, host), func(r *registry.Service) bool {
		return !r.IsDeleted() && r.Host == host && r.Binary == binary
	})
}

func (s *Store) find(ctx context.Context, what string, match func(*registry.Service) bool) (registry.Service, error) {
	if err := ctx.Err(); err != nil {
		return registry.Service{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if match(r) {
			return copyOf(r), nil
		}
	}
	return registry.Service{}, fmt.Errorf("%w: %s", registry.ErrNotFound, what)
}

// List implements registry.Store.
func (s *Store) List(ctx context.Context, f registry.Filter) ([]registry.Service, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	if err := f.Validate(); err != nil {
		return nil, time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []registry.Service
	for _, r := range s.rows {
		if f.Matches(*r) {
			out = append(out, copyOf(r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, s.now(), nil
}

// Update implements registry.Store.
func (s *Store) Update(ctx context.Context, id int64, u registry.Update) (registry.Service, error) {
	if err := u.Validate(); err != nil {
		return registry.Service{}, err
	}
	var out registry.Service
	err := s.live(ctx, id, func(r *registry.Service) {
		if u.Disabled != nil {
			r.Disabled = *u.Disabled
		}
		if u.DisabledReason != nil {
			r.DisabledReason = *u.DisabledReason
		}
		if u.ForcedDown != nil {
			r.ForcedDown = *u.ForcedDown
		}
		if u.Version != nil {
			r.Version = *u.Version
		}
		now := s.now()
		r.UpdatedAt = &now
		out = copyOf(r)
	})
	return out, err
}

// Delete implements registry.Store.
func (s *Store) Delete(ctx context.Context, id int64) error {
	return s.live(ctx, id, func(r *registry.Service) {
		now := s.now()
		r.Deleted, r.DeletedAt = r.ID, &now
	})
}

// Report implements registry.Store.
func (s *Store) Report(ctx context.Context, id int64) (registry.Heartbeat, error) {
	var hb registry.Heartbeat
	err := s.live(ctx, id, func(r *registry.Service) {
		now := s.now()
		r.ReportCount++
		r.LastSeenUp, r.UpdatedAt = &now, &now
		hb = registry.Heartbeat{ReportCount: r.ReportCount, LastSeenUp: now}
	})
	return hb, err
}

// Now implements registry.Store: the store's clock.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return s.now(), nil
}

// MinimumVersion implements registry.Store.
func (s *Store) MinimumVersion(ctx context.Context, binary string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := registry.CheckMinimumVersionBinary(binary); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lowest, found := 0, false
	for _, r := range s.rows {
		if r.IsDeleted() || r.ForcedDown || r.Binary != binary {
			continue
		}
		if !found || r.Version < lowest {
			lowest, found = r.Version, true
		}
	}
	return lowest, nil
}

// live runs change on the live row id under the lock.
func (s *Store) live(ctx context.Context, id int64, change func(*registry.Service)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok || r.IsDeleted() {
		return fmt.Errorf("%w: service %d", registry.ErrNotFound, id)
	}
	change(r)
	return nil
}

// copyOf returns a deep copy, so callers never share the stored pointers.
func copyOf(r *registry.Service) registry.Service {
	c := *r
	c.LastSeenUp = clonePtr(r.LastSeenUp)
	c.UpdatedAt = clonePtr(r.UpdatedAt)
	c.DeletedAt = clonePtr(r.DeletedAt)
	return c
}

func clonePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
