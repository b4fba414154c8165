package computedb

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/compute/states"
)

// This file holds what both stores share of nova's
// instance_get_all_by_filters_sort: the columns a list may filter and sort
// by, and what each filter means. pg.go turns a filter into one
// parameterised query; mem.go applies the same rules row by row.

// ErrFilterTooComplex means Postgres refused to run a list's regular
// expression (too complex for its regex engine): a bad request, not a
// failure of the store.
var ErrFilterTooComplex = errors.New("computedb: the filter's regular expression is too complex")

// Column is an instances column a list filters or sorts by, by nova's name.
type Column string

// The columns. FlavorID is nova's instance_type_id (gonova stores the
// flavorid). AvailabilityZone is nova's column: the zone the boot asked
// for, then the zone of the host it was placed on (ClaimRequest), NULL for
// neither.
const (
	ColID               Column = "id"
	ColUUID             Column = "uuid"
	ColDisplayName      Column = "display_name"
	ColUserID           Column = "user_id"
	ColProjectID        Column = "project_id"
	ColHost             Column = "host"
	ColNode             Column = "node"
	ColVMState          Column = "vm_state"
	ColTaskState        Column = "task_state"
	ColPowerState       Column = "power_state"
	ColFlavorID         Column = "flavor_id"
	ColImageRef         Column = "image_ref"
	ColCreatedAt        Column = "created_at"
	ColUpdatedAt        Column = "updated_at"
	ColLaunchedAt       Column = "launched_at"
	ColTerminatedAt     Column = "terminated_at"
	ColAvailabilityZone Column = "availability_zone"
	ColLocked           Column = "locked"
	ColLockedBy         Column = "locked_by"
	ColKeyName          Column = "key_name"
	ColReservationID    Column = "reservation_id"
	ColLaunchIndex      Column = "launch_index"
)

// DefaultAvailabilityZone is nova's default_availability_zone's default:
// the zone of a host in no zone aggregate.
const DefaultAvailabilityZone = "nova"

// DeletedFilter says which rows a list considers.
type DeletedFilter int

const (
	// LiveOnly lists rows not deleted (nova's deleted=False); the zero
	// value.
	LiveOnly DeletedFilter = iota
	// LiveAndDeleted lists every row (nova with changes-since and no
	// deleted filter).
	LiveAndDeleted
	// DeletedOnly lists deleted rows (nova's deleted=True).
	DeletedOnly
)

// SoftDeletedFilter refines Deleted for instances in vm_state soft-delete
// (nova's soft_deleted).
type SoftDeletedFilter int

const (
	// SoftDeletedAsDeleted leaves them to Deleted (the zero value).
	SoftDeletedAsDeleted SoftDeletedFilter = iota
	// HideSoftDeleted drops them (nova's deleted=False without
	// soft_deleted).
	HideSoftDeleted
	// AddSoftDeleted lists them beside the deleted rows (nova's
	// deleted=True, soft_deleted unset or true).
	AddSoftDeleted
)

// SortKey is one ORDER BY key.
type SortKey struct {
	Column Column
	Desc   bool
}

// DefaultSort is nova's order: newest first.
var DefaultSort = []SortKey{{ColCreatedAt, true}, {ColID, true}}

// colKind is how a column's values compare.
type colKind int

const (
	kindText colKind = iota
	kindInt
	kindTime
	kindUUID
)

type colDef struct {
	kind     colKind
	nullable bool
	// sql is the column's expression; Postgres compares text columns in
	// the C collation, as the in-memory store compares Go strings.
	sql string
	// regexSQL is the column as text for `~`: what MySQL's REGEXP sees of
	// nova's column.
	regexSQL string
	// exact: nova matches the column exactly (exact_match_filter_names)
	exact bool
}

const pgTimeText = `'YYYY-MM-DD HH24:MI:SS'`

var columns = map[Column]colDef{
	ColID:               {kind: kindInt, sql: "id", regexSQL: "id::text"},
	ColUUID:             {kind: kindUUID, sql: "uuid", regexSQL: "uuid::text", exact: true},
	ColDisplayName:      {kind: kindText, sql: `display_name COLLATE "C"`, regexSQL: "display_name"},
	ColUserID:           {kind: kindText, sql: `user_id COLLATE "C"`, regexSQL: "user_id", exact: true},
	ColProjectID:        {kind: kindText, sql: `project_id COLLATE "C"`, regexSQL: "project_id", exact: true},
	ColHost:             {kind: kindText, nullable: true, sql: `host COLLATE "C"`, regexSQL: "host", exact: true},
	ColNode:             {kind: kindText, nullable: true, sql: `node COLLATE "C"`, regexSQL: "node"},
	ColVMState:          {kind: kindText, sql: `vm_state COLLATE "C"`, regexSQL: "vm_state", exact: true},
	ColTaskState:        {kind: kindText, nullable: true, sql: `task_state COLLATE "C"`, regexSQL: "task_state", exact: true},
	ColPowerState:       {kind: kindInt, sql: "power_state", regexSQL: "power_state::text"},
	ColFlavorID:         {kind: kindText, sql: `flavor_id COLLATE "C"`, regexSQL: "flavor_id", exact: true},
	ColImageRef:         {kind: kindText, sql: `image_ref COLLATE "C"`, regexSQL: "image_ref", exact: true},
	ColCreatedAt:        {kind: kindTime, sql: "created_at", regexSQL: "to_char(created_at AT TIME ZONE 'UTC', " + pgTimeText + ")"},
	ColUpdatedAt:        {kind: kindTime, nullable: true, sql: "updated_at", regexSQL: "to_char(updated_at AT TIME ZONE 'UTC', " + pgTimeText + ")"},
	ColLaunchedAt:       {kind: kindTime, nullable: true, sql: "launched_at", regexSQL: "to_char(launched_at AT TIME ZONE 'UTC', " + pgTimeText + ")"},
	ColTerminatedAt:     {kind: kindTime, nullable: true, sql: "terminated_at", regexSQL: "to_char(terminated_at AT TIME ZONE 'UTC', " + pgTimeText + ")"},
	ColAvailabilityZone: {kind: kindText, nullable: true, sql: `availability_zone COLLATE "C"`, regexSQL: "availability_zone"},
	ColLocked:           {kind: kindInt, sql: "locked::int", regexSQL: "locked::text"},
	ColLockedBy:         {kind: kindText, nullable: true, sql: `locked_by COLLATE "C"`, regexSQL: "locked_by"},
	ColKeyName:          {kind: kindText, nullable: true, sql: `key_name COLLATE "C"`, regexSQL: "key_name"},
	ColReservationID:    {kind: kindText, nullable: true, sql: `reservation_id COLLATE "C"`, regexSQL: "reservation_id"},
	ColLaunchIndex:      {kind: kindInt, sql: "launch_index", regexSQL: "launch_index::text"},
}

// value is one column of one row in the in-memory store.
type value struct {
	null bool
	s    string
	i    int64
	t    time.Time
}

func nullable(s string) value { return value{null: s == "", s: s} }

func timeValue(t *time.Time) value {
	if t == nil {
		return value{null: true}
	}
	return value{t: *t}
}

// get is column c of in, as Postgres holds it (host "" is NULL).
func get(in *Instance, c Column) value {
	switch c {
	case ColID:
		return value{i: in.ID}
	case ColUUID:
		return value{s: in.UUID}
	case ColDisplayName:
		return value{s: in.DisplayName}
	case ColUserID:
		return value{s: in.UserID}
	case ColProjectID:
		return value{s: in.ProjectID}
	case ColHost:
		return nullable(in.Host)
	case ColNode:
		return nullable(in.Node)
	case ColVMState:
		return value{s: string(in.VMState)}
	case ColTaskState:
		return nullable(string(in.TaskState))
	case ColPowerState:
		return value{i: int64(in.PowerState)}
	case ColFlavorID:
		return value{s: in.FlavorID}
	case ColImageRef:
		return value{s: in.ImageRef}
	case ColCreatedAt:
		return value{t: in.CreatedAt}
	case ColUpdatedAt:
		return timeValue(in.UpdatedAt)
	case ColLaunchedAt:
		return timeValue(in.LaunchedAt)
	case ColTerminatedAt:
		return timeValue(in.TerminatedAt)
	case ColLocked:
		if in.Locked {
			return value{i: 1}
		}
		return value{}
	case ColLockedBy:
		return nullable(in.LockedBy)
	case ColKeyName:
		return nullable(in.KeyName)
	case ColAvailabilityZone:
		return nullable(in.AvailabilityZone)
	case ColReservationID:
		return nullable(in.ReservationID)
	case ColLaunchIndex:
		return value{i: int64(in.LaunchIndex)}
	}
	panic("computedb: unknown column " + string(c))
}

// text is v as regexSQL renders it.
func (v value) text(kind colKind) string {
	switch kind {
	case kindInt:
		return strconv.FormatInt(v.i, 10)
	case kindTime:
		return v.t.UTC().Format("2006-01-02 15:04:05")
	}
	return v.s
}

// compare orders a and b as Postgres does: NULL after every value.
func compare(kind colKind, a, b value) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return 1
	case b.null:
		return -1
	}
	switch kind {
	case kindInt:
		return cmp.Compare(a.i, b.i)
	case kindTime:
		return a.t.Compare(b.t)
	}
	return strings.Compare(a.s, b.s)
}

// check validates f's columns and returns its sort keys, made total by id.
func (f *InstanceFilter) check() ([]SortKey, error) {
	// A marker is an id like any other: every spelling of a uuid names the
	// same instance (see canonicalUUID).
	if canon, ok := canonicalUUID(f.Marker); ok {
		f.Marker = canon
	}
	for c := range f.Exact {
		if d, ok := columns[c]; !ok || !d.exact {
			return nil, fmt.Errorf("computedb: no exact filter on column %q", c)
		}
	}
	for c, re := range f.Regex {
		if _, ok := columns[c]; !ok || c == ColID {
			return nil, fmt.Errorf("computedb: no regex filter on column %q", c)
		}
		if re == nil {
			return nil, fmt.Errorf("computedb: nil regex for column %q", c)
		}
	}
	keys := f.Sort
	if len(keys) == 0 {
		keys = DefaultSort
	}
	hasID := false
	for _, k := range keys {
		if _, ok := columns[k.Column]; !ok {
			return nil, fmt.Errorf("computedb: cannot sort by column %q", k.Column)
		}
		hasID = hasID || k.Column == ColID
	}
	if !hasID {
		keys = append(append([]SortKey(nil), keys...), SortKey{ColID, keys[0].Desc})
	}
	return keys, nil
}

// exactValues is the list a column must be in, as the column holds them:
// a uuid only in its canonical form (anything else matches nothing).
func exactValues(c Column, vs []string) []string {
	if c != ColUUID {
		return vs
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if len(v) == 36 {
			if u, err := uuid.Parse(v); err == nil {
				out = append(out, u.String())
			}
		}
	}
	return out
}

// pass reports whether in passes f (deleted: whether the row is deleted).
// ProjectID, Host, VMState, TaskState, Exact, Regex, the deleted and soft-deleted rules and
// the change times; not the marker or limit.
func (f *InstanceFilter) pass(in *Instance, deleted bool) bool {
	switch f.Deleted {
	case LiveOnly:
		if deleted || (f.SoftDeleted == HideSoftDeleted && in.VMState == states.VMSoftDeleted) {
			return false
		}
	case DeletedOnly:
		if !deleted && !(f.SoftDeleted == AddSoftDeleted && in.VMState == states.VMSoftDeleted) {
			return false
		}
	}
	if f.ProjectID != "" && in.ProjectID != f.ProjectID {
		return false
	}
	if f.Host != "" && in.Host != f.Host {
		return false
	}
	if (f.VMState != "" && in.VMState != f.VMState) || (f.TaskState != "" && in.TaskState != f.TaskState) {
		return false
	}
	for c, vs := range f.Exact {
		v := get(in, c)
		if v.null {
			return false
		}
		found := false
		for _, want := range exactValues(c, vs) {
			if v.s == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for c, re := range f.Regex {
		v := get(in, c)
		if v.null || !re.MatchString(v.text(columns[c].kind)) {
			return false
		}
	}
	if !passTags(f, in.Tags) {
		return false
	}
	if f.ChangesSince != nil && (in.UpdatedAt == nil || in.UpdatedAt.Before(*f.ChangesSince)) {
		return false
	}
	if f.ChangesBefore != nil && (in.UpdatedAt == nil || in.UpdatedAt.After(*f.ChangesBefore)) {
		return false
	}
	if f.Locked != nil && in.Locked != *f.Locked {
		return false
	}
	return true
}

// compareRows orders a before b (negative) by keys.
func compareRows(keys []SortKey, a, b *Instance) int {
	for _, k := range keys {
		c := compare(columns[k.Column].kind, get(a, k.Column), get(b, k.Column))
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
