package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Store keeps service records. Implementations are safe for concurrent use.
// Methods that take an id act on the live row with that id unless they say
// otherwise; a missing or soft-deleted row gives ErrNotFound.
type Store interface {
	// Create inserts a live row from n (after n.Validate). A collision with a
	// live row on (host, binary), (host, topic) or uuid returns a
	// *DuplicateError (errors.Is ErrDuplicate); use FindOrCreate to treat that
	// as success.
	Create(ctx context.Context, n NewService) (Service, error)
	// Get returns the row with this id, live or soft-deleted.
	Get(ctx context.Context, id int64) (Service, error)
	// GetByUUID returns the row with this uuid, live or soft-deleted. A
	// malformed uuid is ErrInvalid.
	GetByUUID(ctx context.Context, uuid string) (Service, error)
	// GetByHostBinary returns the live row of (host, binary).
	GetByHostBinary(ctx context.Context, host, binary string) (Service, error)
	// List returns the rows that pass f, ordered by id, and the store's clock
	// read in the same round trip, for IsUp.
	List(ctx context.Context, f Filter) ([]Service, time.Time, error)
	// Update applies u (after u.Validate) to the live row and returns it.
	Update(ctx context.Context, id int64, u Update) (Service, error)
	// Delete soft-deletes the live row: deleted = id, deleted_at = now.
	Delete(ctx context.Context, id int64) error
	// Report records a heartbeat: report_count + 1, last_seen_up = now on the
	// store's clock. ErrNotFound means the row is gone (deleted while the
	// service ran); the caller re-creates it.
	Report(ctx context.Context, id int64) (Heartbeat, error)
	// Now reads the store's clock: the database's for pgstore.
	Now(ctx context.Context) (time.Time, error)
	// MinimumVersion returns the lowest version among the live rows of
	// binary that are not forced down, or 0 when there is none: nova's
	// service_get_minimum_version, which drives [upgrade_levels] compute =
	// auto and the start-up check for too old computes. An empty binary is
	// ErrInvalid.
	MinimumVersion(ctx context.Context, binary string) (int, error)
}

// FindOrCreate returns the live row of (n.Host, n.Binary), creating it (under
// opts) when there is none. It is race-safe: when a sibling creates the row
// between the lookup and the insert, the duplicate is read back and returned
// with created = false. A collision on another key (host+topic held by a
// different binary) is returned as the *DuplicateError.
func FindOrCreate(ctx context.Context, s Store, n NewService, opts CreateOptions) (svc Service, created bool, err error) {
	if err := n.Validate(); err != nil {
		return Service{}, false, err
	}
	svc, err = s.GetByHostBinary(ctx, n.Host, n.Binary)
	switch {
	case err == nil:
		return svc, false, nil
	case !errors.Is(err, ErrNotFound):
		return Service{}, false, err
	}
	svc, err = s.Create(ctx, opts.Apply(n))
	if err == nil {
		return svc, true, nil
	}
	if !errors.Is(err, ErrDuplicate) {
		return Service{}, false, err
	}
	// The database may report the (host, topic) key first even when the
	// sibling's row also holds (host, binary): read back either way.
	again, gerr := s.GetByHostBinary(ctx, n.Host, n.Binary)
	switch {
	case gerr == nil:
		return again, false, nil
	case errors.Is(gerr, ErrNotFound):
		return Service{}, false, err // a different binary holds the key
	default:
		return Service{}, false, fmt.Errorf("registry: reading back the service another worker created: %w", gerr)
	}
}

// ParseUUID checks that s is a uuid and returns its canonical lower-case,
// hyphenated form (as nova stores it).
func ParseUUID(s string) (string, error) {
	u, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil || len(strings.TrimSpace(s)) != 36 {
		return "", fmt.Errorf("%w: %q is not a uuid (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", ErrInvalid, s)
	}
	return u.String(), nil
}
