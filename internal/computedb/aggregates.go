package computedb

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Aggregate is one host aggregate, as nova's API database keeps it in
// aggregates, aggregate_hosts and aggregate_metadata (hard-deleted rows, a
// unique name). Its availability_zone metadata makes the zone of its hosts.
type Aggregate struct {
	ID        int64
	UUID      string
	Name      string
	Hosts     []string          // in the order they were added
	Metadata  map[string]string // never nil on a stored aggregate
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// MetadataAvailabilityZone is the metadata key whose value is the
// availability zone of an aggregate's hosts.
const MetadataAvailabilityZone = "availability_zone"

// AvailabilityZone is the zone the aggregate gives its hosts, "" for none.
func (a Aggregate) AvailabilityZone() string { return a.Metadata[MetadataAvailabilityZone] }

// Errors of the aggregate methods, beside ErrNotFound (no such aggregate).
var (
	// ErrAggregateNameExists: another aggregate has the name.
	ErrAggregateNameExists = errors.New("computedb: aggregate name exists")
	// ErrAggregateHostExists: the host is in the aggregate already.
	ErrAggregateHostExists = errors.New("computedb: aggregate already has the host")
	// ErrAggregateHostNotFound: the host is not in the aggregate.
	ErrAggregateHostNotFound = errors.New("computedb: aggregate has no such host")
	// ErrAggregateNotEmpty: an aggregate with hosts cannot be deleted.
	ErrAggregateNotEmpty = errors.New("computedb: aggregate is not empty")
)

// AggregateStore holds host aggregates (part of Store).
type AggregateStore interface {
	// CreateAggregate stores a new aggregate named name with metadata
	// (nil: none). A name in use is ErrAggregateNameExists.
	CreateAggregate(ctx context.Context, name string, metadata map[string]string) (Aggregate, error)
	GetAggregate(ctx context.Context, id int64) (Aggregate, error)
	// ListAggregates returns every aggregate by id.
	ListAggregates(ctx context.Context) ([]Aggregate, error)
	// RenameAggregate sets the name (ErrAggregateNameExists when taken by
	// another aggregate) and updated_at.
	RenameAggregate(ctx context.Context, id int64, name string) (Aggregate, error)
	// UpdateAggregateMetadata sets each key to its value, and removes the
	// keys whose value is nil (a missing key is no error), and updated_at.
	UpdateAggregateMetadata(ctx context.Context, id int64, set map[string]*string) (Aggregate, error)
	// AddAggregateHost adds host; ErrAggregateHostExists when it is there.
	AddAggregateHost(ctx context.Context, id int64, host string) (Aggregate, error)
	// RemoveAggregateHost removes host; ErrAggregateHostNotFound when it
	// is not there.
	RemoveAggregateHost(ctx context.Context, id int64, host string) (Aggregate, error)
	// DeleteAggregate removes an aggregate without hosts, with its
	// metadata; one with hosts is ErrAggregateNotEmpty, atomically (a host
	// added concurrently is not lost).
	DeleteAggregate(ctx context.Context, id int64) error
}

// checkAggregateName checks an aggregate name for its varchar(255).
func checkAggregateName(name string) error {
	var c checker
	c.text("name", name, MaxFieldLength)
	if c.err == nil && name == "" {
		c.err = invalid("name", "is empty")
	}
	return c.err
}

// checkAggregateMetadata checks keys and values for aggregate_metadata's
// varchar(255) columns.
func checkAggregateMetadata(set map[string]*string) error {
	var c checker
	for k, v := range set {
		c.text("metadata key", k, MaxFieldLength)
		if v != nil {
			c.text("metadata value", *v, MaxFieldLength)
		}
		if c.err != nil {
			return c.err
		}
	}
	return nil
}

// checkHostName checks a host for aggregate_hosts.host.
func checkHostName(host string) error {
	var c checker
	c.text("host", host, MaxFieldLength)
	return c.err
}

// HostZones returns the availability zones the aggregates aggs (as
// ListAggregates returns them, by id) give host, each once, in aggregate
// order; none when no aggregate of host has a zone. nova's rules keep a
// host in one zone, so there is normally at most one.
func HostZones(aggs []Aggregate, host string) []string {
	var zones []string
	for _, a := range aggs {
		z := a.AvailabilityZone()
		if z == "" || slices.Contains(zones, z) || !slices.Contains(a.Hosts, host) {
			continue
		}
		zones = append(zones, z)
	}
	return zones
}
