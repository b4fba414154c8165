package registry

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Binary names nova uses for its services.
const (
	BinaryCompute = "nova-compute"
	BinaryAPI     = "nova-osapi_compute"
)

// NewServiceDisabledReason is the disabled_reason of a nova-compute row
// created while enable_new_services is false.
const NewServiceDisabledReason = "New compute service disabled due to config option."

// MaxFieldLength is the length limit of host, binary, topic and
// disabled_reason (varchar(255) in nova's table).
const MaxFieldLength = 255

// Service is one row of the services table: every column of nova's.
//
// Nullable text columns are plain strings where "" stands for NULL (topic is
// NULL for API services; disabled_reason is NULL when none was given);
// nullable timestamps are pointers. Times are in UTC.
type Service struct {
	ID             int64
	UUID           string // canonical lower-case form
	Host           string
	Binary         string
	Topic          string // "" means NULL: API services have no topic
	ReportCount    int64
	Disabled       bool
	DisabledReason string // "" means NULL
	LastSeenUp     *time.Time
	ForcedDown     bool
	Version        int
	CreatedAt      time.Time
	UpdatedAt      *time.Time
	DeletedAt      *time.Time
	Deleted        int64 // 0 while live; the id after a soft delete
}

// IsDeleted reports whether the row was soft-deleted.
func (s Service) IsDeleted() bool { return s.Deleted != 0 }

// NewService is what Create needs to insert a row.
type NewService struct {
	UUID           string // empty: the store generates one
	Host           string // required
	Binary         string // required
	Topic          string // "" stores NULL
	Disabled       bool
	DisabledReason string
	Version        int
}

// Validate checks n before it reaches a store, naming the field that is wrong.
func (n NewService) Validate() error {
	if strings.TrimSpace(n.Host) == "" {
		return fmt.Errorf("%w: host is empty", ErrInvalid)
	}
	if strings.TrimSpace(n.Binary) == "" {
		return fmt.Errorf("%w: binary is empty", ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{{"host", n.Host}, {"binary", n.Binary}, {"topic", n.Topic}, {"disabled_reason", n.DisabledReason}} {
		if err := CheckText(f.name, f.v); err != nil {
			return err
		}
	}
	if n.Version < 0 {
		return fmt.Errorf("%w: version %d is negative", ErrInvalid, n.Version)
	}
	if n.UUID != "" {
		if _, err := ParseUUID(n.UUID); err != nil {
			return err
		}
	}
	return nil
}

// CreateOptions are the configuration that shapes a newly created row.
type CreateOptions struct {
	// DisableNewServices is the inverse of nova's enable_new_services
	// ([DEFAULT], default true): when set, a newly created nova-compute row
	// starts disabled with reason NewServiceDisabledReason. Other binaries are
	// not affected, as in nova. Inverted so that the zero value keeps nova's
	// default.
	DisableNewServices bool
}

// Apply returns n as it is to be inserted under o.
func (o CreateOptions) Apply(n NewService) NewService {
	if o.DisableNewServices && n.Binary == BinaryCompute {
		n.Disabled = true
		n.DisabledReason = NewServiceDisabledReason
	}
	return n
}

// Update changes the fields that are not nil. updated_at is set by the store.
type Update struct {
	Disabled       *bool
	DisabledReason *string // "" stores NULL
	ForcedDown     *bool
	Version        *int
}

// IsEmpty reports whether u changes nothing.
func (u Update) IsEmpty() bool {
	return u.Disabled == nil && u.DisabledReason == nil && u.ForcedDown == nil && u.Version == nil
}

// Validate checks u, naming the field that is wrong.
func (u Update) Validate() error {
	if u.IsEmpty() {
		return fmt.Errorf("%w: the update changes nothing", ErrInvalid)
	}
	if u.DisabledReason != nil {
		if err := CheckText("disabled_reason", *u.DisabledReason); err != nil {
			return err
		}
	}
	if u.Version != nil && *u.Version < 0 {
		return fmt.Errorf("%w: version %d is negative", ErrInvalid, *u.Version)
	}
	return nil
}

// Filter selects rows for List. Empty strings match everything.
type Filter struct {
	Host           string // exact host
	Binary         string // exact binary
	IncludeDeleted bool   // also soft-deleted rows
}

// Matches reports whether s passes f.
func (f Filter) Matches(s Service) bool {
	return (f.Host == "" || s.Host == f.Host) &&
		(f.Binary == "" || s.Binary == f.Binary) &&
		(f.IncludeDeleted || !s.IsDeleted())
}

// CheckMinimumVersionBinary checks the binary of a MinimumVersion query.
func CheckMinimumVersionBinary(binary string) error {
	if strings.TrimSpace(binary) == "" {
		return fmt.Errorf("%w: binary is empty", ErrInvalid)
	}
	return CheckText("binary", binary)
}

// Heartbeat is what a Report left in the row.
type Heartbeat struct {
	ReportCount int64
	LastSeenUp  time.Time // the store's clock (the database clock for pgstore), UTC
}

// Errors returned by stores, to be tested with errors.Is.
var (
	// ErrNotFound: no live row matched (or no row at all for GetByUUID/Get
	// when the row was never there).
	ErrNotFound = errors.New("registry: service not found")
	// ErrDuplicate: a live row with the same (host, binary), (host, topic) or
	// uuid exists. Returned errors are *DuplicateError.
	ErrDuplicate = errors.New("registry: service exists")
	// ErrInvalid: the input is malformed; the message names the field.
	ErrInvalid = errors.New("registry: invalid input")
)

// DuplicateError says which unique key a Create collided with.
type DuplicateError struct {
	Key    string // "host+binary", "host+topic" or "uuid"
	Host   string
	Binary string
	Topic  string
}

func (e *DuplicateError) Error() string {
	switch e.Key {
	case "host+topic":
		return fmt.Sprintf("registry: a service with host %q and topic %q exists", e.Host, e.Topic)
	case "uuid":
		return "registry: a service with this uuid exists"
	default:
		return fmt.Sprintf("registry: a service with host %q and binary %q exists", e.Host, e.Binary)
	}
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }
