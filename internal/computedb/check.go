package computedb

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gonova/gonova/pkg/db"
)

// ErrInvalid means a value no row can hold: text that is not UTF-8, holds a
// NUL or is longer than its column, or an integer beyond its column's range.
// Both stores check before they write or compare, so the in-memory store
// refuses exactly what Postgres refuses; the message names the field, never
// the value (it may have come from outside: long, binary or secret). The
// HTTP API answers it 400.
var ErrInvalid = errors.New("computedb: invalid input")

// InvalidError is the ErrInvalid of one field: errors.Is(err, ErrInvalid)
// holds, and Reason is what a client may be told ("display_name contains a
// NUL character").
type InvalidError struct {
	Field   string
	Problem string
}

func (e *InvalidError) Error() string { return ErrInvalid.Error() + ": " + e.Reason() }

// Reason names the field and what is wrong with it, never the value.
func (e *InvalidError) Reason() string { return e.Field + " " + e.Problem }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Column limits, as the migrations declare them.
const (
	// MaxFieldLength is the length of the varchar(255) columns, in
	// characters.
	MaxFieldLength = 255
	// maxHostIPLength is compute_nodes.host_ip's varchar(64).
	maxHostIPLength = 64
	// unbounded marks a text column: no length limit.
	unbounded = -1
	// MaxID is the largest id of a compute_nodes or instances row: the
	// columns are Postgres integers (serial), as in nova's tables.
	MaxID = math.MaxInt32
)

// validID reports whether id can name a row. Stores answer ErrNotFound for
// the others without asking the database, which refuses to compare an
// integer column with a larger number.
func validID(id int64) bool { return id >= 1 && id <= MaxID }

// canonicalUUID returns the lower-case hyphenated form of any spelling
// uuid.Parse accepts (upper case, braces, urn:uuid:, no hyphens), so both
// stores find a row by every spelling alike; ok is false for anything
// else, which names no row.
func canonicalUUID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// checker collects the first refusal of a row's fields.
type checker struct{ err error }

// text checks s for a text column of at most max characters (unbounded:
// any length).
func (c *checker) text(field, s string, max int) {
	if c.err != nil {
		return
	}
	switch {
	case !utf8.ValidString(s):
		c.err = invalid(field, "is not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		c.err = invalid(field, "contains a NUL character")
	case max != unbounded && len(s) > max && utf8.RuneCountInString(s) > max:
		c.err = invalid(field, "is %d characters long, at most %d allowed", utf8.RuneCountInString(s), max)
	}
}

// int32 checks n for an integer column.
func (c *checker) int32(field string, n int64) {
	if c.err == nil && (n < math.MinInt32 || n > math.MaxInt32) {
		c.err = invalid(field, "%d is out of the integer range", n)
	}
}

// metadata checks a server's metadata: string keys and values of at most
// 255 characters, as nova's instance_metadata columns and its API schema
// hold them, stored in a jsonb object (which refuses NUL).
func (c *checker) metadata(m map[string]string) {
	for k, v := range m {
		c.text("metadata key", k, MaxFieldLength)
		c.text("metadata value", v, MaxFieldLength)
		if c.err != nil {
			return
		}
	}
}

func checkNode(n Node) error {
	if n.Host == "" || n.HypervisorHostname == "" {
		return invalid("node", "needs host and hypervisor_hostname")
	}
	var c checker
	c.text("host", n.Host, MaxFieldLength)
	c.text("hypervisor_hostname", n.HypervisorHostname, MaxFieldLength)
	c.text("hypervisor_type", n.HypervisorType, MaxFieldLength)
	c.text("host_ip", n.HostIP, maxHostIPLength)
	c.text("cpu_info", n.CPUInfo, unbounded)
	c.int32("service_id", n.ServiceID)
	c.int32("vcpus", int64(n.VCPUs))
	c.int32("vcpus_used", int64(n.VCPUsUsed))
	c.int32("vcpus_reserved", int64(n.VCPUsReserved))
	c.int32("running_vms", int64(n.RunningVMs))
	c.int32("current_workload", int64(n.CurrentWorkload))
	return c.err
}

func checkInstance(in Instance) error {
	var c checker
	c.text("display_name", in.DisplayName, MaxFieldLength)
	c.text("user_id", in.UserID, MaxFieldLength)
	c.text("project_id", in.ProjectID, MaxFieldLength)
	c.text("host", in.Host, MaxFieldLength)
	c.text("node", in.Node, MaxFieldLength)
	c.text("vm_state", string(in.VMState), MaxFieldLength)
	c.text("task_state", string(in.TaskState), MaxFieldLength)
	c.text("flavor_id", in.FlavorID, MaxFieldLength)
	c.text("image_ref", in.ImageRef, MaxFieldLength)
	c.text("availability_zone", in.AvailabilityZone, MaxFieldLength)
	c.text("display_description", in.Description, unbounded)
	c.text("hostname", in.Hostname, MaxFieldLength)
	c.text("reservation_id", in.ReservationID, MaxFieldLength)
	c.int32("power_state", int64(in.PowerState))
	c.int32("vcpus", int64(in.VCPUs))
	c.text("reservation_id", in.ReservationID, MaxFieldLength)
	c.int32("launch_index", int64(in.LaunchIndex))
	c.metadata(in.Metadata)
	c.text("key_name", in.KeyName, MaxFieldLength)
	c.text("flavor name", in.Flavor.Name, MaxFieldLength)
	c.metadata(in.Flavor.ExtraSpecs)
	if c.err == nil {
		c.err = checkTags(in.Tags)
	}
	return c.err
}

func checkUpdate(u InstanceUpdate) error {
	var c checker
	if u.Host != nil {
		c.text("host", *u.Host, MaxFieldLength)
	}
	if u.Node != nil {
		c.text("node", *u.Node, MaxFieldLength)
	}
	if u.VMState != nil {
		c.text("vm_state", string(*u.VMState), MaxFieldLength)
	}
	if u.TaskState != nil {
		c.text("task_state", string(*u.TaskState), MaxFieldLength)
	}
	if u.ExpectTaskState != nil {
		c.text("expected task_state", string(*u.ExpectTaskState), MaxFieldLength)
	}
	if u.PowerState != nil {
		c.int32("power_state", int64(*u.PowerState))
	}
	if u.DisplayName != nil {
		c.text("display_name", *u.DisplayName, MaxFieldLength)
	}
	if u.Description != nil {
		c.text("display_description", *u.Description, unbounded)
	}
	if u.KeyName != nil {
		c.text("key_name", *u.KeyName, MaxFieldLength)
	}
	if u.Hostname != nil {
		c.text("hostname", *u.Hostname, MaxFieldLength)
	}
	if u.ImageRef != nil {
		c.text("image_ref", *u.ImageRef, MaxFieldLength)
	}
	if u.Metadata != nil {
		c.metadata(*u.Metadata)
	}
	if u.LockedBy != nil {
		c.text("locked_by", *u.LockedBy, MaxFieldLength)
	}
	if u.LockedReason != nil {
		c.text("locked_reason", *u.LockedReason, MaxFieldLength)
	}
	if u.Fault != nil {
		c.int32("fault code", int64(u.Fault.Code))
		c.text("fault message", u.Fault.Message, unbounded)
	}
	return c.err
}

func checkFilter(f InstanceFilter) error {
	var c checker
	c.text("project_id", f.ProjectID, MaxFieldLength)
	c.text("host", f.Host, MaxFieldLength)
	c.text("vm_state", string(f.VMState), MaxFieldLength)
	c.text("task_state", string(f.TaskState), MaxFieldLength)
	// Exact values are compared, never stored: any length matches or not,
	// but Postgres refuses text that is not UTF-8 or holds a NUL.
	for col, vs := range f.Exact {
		for _, v := range vs {
			c.text(string(col), v, 1<<20)
		}
	}
	for _, vs := range [][]string{f.Tags, f.TagsAny, f.NotTags, f.NotTagsAny} {
		for _, v := range vs {
			c.text("tag", v, 1<<20)
		}
	}
	return c.err
}

func checkHost(host string) error {
	var c checker
	c.text("host", host, MaxFieldLength)
	return c.err
}

// fail wraps a database error as pkg/registry/pgstore does: an outage is
// marked db.ErrUnavailable (a 503 in the API, not a 500), a value Postgres
// refused (the checks' safety net) is ErrInvalid; ErrNotFound and
// ErrConflict pass as they are.
func fail(what string, err error) error {
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrInvalid),
		errors.Is(err, ErrNodeNotFound), errors.Is(err, ErrInsufficientResources), errors.Is(err, ErrOverQuota), errors.Is(err, ErrGroupPolicy):
		return err
	case db.IsInvalidInput(err):
		return invalid("a value", "was refused by the database while %s (SQLSTATE %s)", what, sqlState(err))
	}
	return fmt.Errorf("computedb: %s: %w", what, db.Classify(err))
}

// sqlState is err's SQLSTATE code, for the reason of a refusal.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return "?"
}
