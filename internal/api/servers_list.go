package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/pyregex"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// This file is nova's GET /servers and /servers/detail query handling
// (ServersController._get_servers and the query_params_v21/v226/v266/v273/
// v275 schemas): validate the query for the microversion, keep the filters
// the caller may use, and hand compute.API a typed filter.

// polServersAllFilters lets a caller use every filter (nova's
// os_compute_api:servers:allow_all_filters, admin by default); others keep
// only nova's non-admin filters, the rest silently dropped.
const polServersAllFilters = "os_compute_api:servers:allow_all_filters"

// paramFormat is a query parameter's schema: every value a string, some a
// Python regex or an ISO 8601 time, sort_key one of the sort keys.
type paramFormat int

const (
	fmtString paramFormat = iota
	fmtRegex
	fmtDateTime
	fmtSortKey
	fmtLimit
)

type queryParam struct {
	name     string
	format   paramFormat
	minMajor int // the microversion (2.minor) from which it is known
}

// serverQueryParams is nova's schema, in its order (jsonschema reports the
// first failing property in this order).
var serverQueryParams = []queryParam{
	{"user_id", fmtString, 1}, {"project_id", fmtString, 1}, {"tenant_id", fmtString, 1},
	{"launch_index", fmtString, 1}, {"image_ref", fmtString, 1}, {"image", fmtString, 1},
	{"kernel_id", fmtRegex, 1}, {"ramdisk_id", fmtRegex, 1}, {"hostname", fmtRegex, 1}, {"key_name", fmtRegex, 1},
	{"power_state", fmtRegex, 1}, {"vm_state", fmtString, 1}, {"task_state", fmtString, 1}, {"host", fmtString, 1},
	{"node", fmtRegex, 1}, {"flavor", fmtRegex, 1}, {"reservation_id", fmtRegex, 1}, {"launched_at", fmtRegex, 1},
	{"terminated_at", fmtRegex, 1}, {"availability_zone", fmtRegex, 1}, {"name", fmtRegex, 1},
	{"display_name", fmtRegex, 1}, {"description", fmtRegex, 1}, {"display_description", fmtRegex, 1},
	{"locked_by", fmtRegex, 1}, {"uuid", fmtString, 1}, {"root_device_name", fmtRegex, 1},
	{"config_drive", fmtRegex, 1}, {"access_ip_v4", fmtRegex, 1}, {"access_ip_v6", fmtRegex, 1},
	{"auto_disk_config", fmtRegex, 1}, {"progress", fmtRegex, 1}, {"sort_key", fmtSortKey, 1},
	{"sort_dir", fmtString, 1}, {"all_tenants", fmtString, 1}, {"soft_deleted", fmtString, 1},
	{"deleted", fmtString, 1}, {"status", fmtString, 1}, {"changes-since", fmtDateTime, 1},
	{"ip", fmtRegex, 1}, {"ip6", fmtRegex, 1}, {"created_at", fmtRegex, 1},
	{"block_device_mapping", fmtString, 1}, {"services", fmtString, 1}, {"metadata", fmtString, 1},
	{"system_metadata", fmtString, 1}, {"info_cache", fmtString, 1}, {"security_groups", fmtString, 1},
	{"pci_devices", fmtString, 1}, {"limit", fmtLimit, 1}, {"marker", fmtString, 1},
	{"tags", fmtRegex, 26}, {"tags-any", fmtRegex, 26}, {"not-tags", fmtRegex, 26}, {"not-tags-any", fmtRegex, 26},
	{"changes-before", fmtDateTime, 66}, {"locked", fmtString, 73},
}

// joinedTableParams are nova's JOINED_TABLE_QUERY_PARAMS_SERVERS: known
// to the schema, refused as filters.
var joinedTableParams = []string{"block_device_mapping", "services", "metadata", "system_metadata", "info_cache",
	"security_groups", "pci_devices"}

// nova's sort keys (VALID_SORT_KEYS) and those ignored for compatibility
// (SERVER_LIST_IGNORE_SORT_KEY); from 2.73 locked is valid, from 2.75 the
// ignored ones are refused.
var (
	validSortKeys = []string{"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive",
		"created_at", "display_description", "display_name", "host", "hostname", "image_ref", "instance_type_id",
		"kernel_id", "key_name", "launch_index", "launched_at", "locked_by", "node", "power_state", "progress",
		"project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at", "user_id", "uuid",
		"vm_state"}
	ignoredSortKeys = []string{"architecture", "cell_name", "cleaned", "default_ephemeral_device",
		"default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id",
		"key_data", "launched_on", "locked", "memory_mb", "os_type", "reservation_id", "root_gb", "shutdown_terminate",
		"user_data", "vcpus", "vm_mode"}
)

// sortKeyEnum is the sort_key enum at v, in nova's order (from 2.73 nova
// builds it from a set, so its order varies between nova processes; gonova
// keeps locked first and the rest in nova's order).
func sortKeyEnum(v microversion.Version) []string {
	switch {
	case v.AtLeast(2, 75):
		return append([]string{"locked"}, validSortKeys...)
	case v.AtLeast(2, 73):
		ignored := slices.DeleteFunc(slices.Clone(ignoredSortKeys), func(k string) bool { return k == "locked" })
		return append(append([]string{"locked"}, validSortKeys...), ignored...)
	}
	return append(slices.Clone(validSortKeys), ignoredSortKeys...)
}

// ignoredSortKeysAt is the blacklist remove_invalid_sort_keys drops at v.
func ignoredSortKeysAt(v microversion.Version) []string {
	if v.AtLeast(2, 73) {
		return slices.DeleteFunc(slices.Clone(ignoredSortKeys), func(k string) bool { return k == "locked" })
	}
	return ignoredSortKeys
}

// nonAdminFilters is nova's _get_server_search_options at v.
func nonAdminFilters(v microversion.Version) []string {
	opts := []string{"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since", "all_tenants"}
	if v.AtLeast(2, 5) {
		opts = append(opts, "ip6")
	}
	if v.AtLeast(2, 26) {
		opts = append(opts, "tags", "tags-any", "not-tags", "not-tags-any")
	}
	if v.AtLeast(2, 66) {
		opts = append(opts, "changes-before")
	}
	if v.AtLeast(2, 73) {
		opts = append(opts, "locked")
	}
	if v.AtLeast(2, 83) {
		opts = append(opts, "availability_zone", "config_drive", "key_name", "created_at", "launched_at",
			"terminated_at", "power_state", "task_state", "vm_state", "progress", "user_id")
	}
	if v.AtLeast(2, 90) {
		opts = append(opts, "hostname")
	}
	return opts
}

// serverQuery is the query string as webob reads it: each key's values in
// order, and the keys in the order they first appear.
type serverQuery struct {
	values url.Values
	order  []string
}

func (q serverQuery) has(k string) bool    { _, ok := q.values[k]; return ok }
func (q serverQuery) last(k string) string { return lastValue(q.values[k]) }

func readServerQuery(r *http.Request) (serverQuery, error) {
	q := serverQuery{values: r.URL.Query()}
	seen := map[string]bool{}
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(strings.ReplaceAll(k, "+", " "))
		if err != nil || k == "" || seen[k] {
			continue
		}
		if _, ok := q.values[k]; ok {
			seen[k] = true
			q.order = append(q.order, k)
		}
	}
	for k, vs := range q.values {
		if !utf8.ValidString(k) {
			return q, fault.BadRequest("Query string is not UTF-8 encoded")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return q, fault.BadRequest("Query string is not UTF-8 encoded")
			}
		}
	}
	return q, nil
}

// validate applies nova's query schema at v. Before 2.75 unknown keys are
// dropped; from 2.75 they are refused.
func (q *serverQuery) validate(v microversion.Version) error {
	known := map[string]bool{}
	enum := sortKeyEnum(v)
	for _, p := range serverQueryParams {
		if !v.AtLeast(2, p.minMajor) {
			continue
		}
		known[p.name] = true
		for _, val := range q.values[p.name] {
			if err := checkQueryValue(p, val, enum); err != nil {
				return err
			}
		}
	}
	var extra []string
	for _, k := range q.order {
		if !known[k] && !strings.HasPrefix(k, "_") {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	if v.AtLeast(2, 75) {
		sort.Strings(extra)
		quoted := make([]string, len(extra))
		for i, k := range extra {
			quoted[i] = wsgi.PyRepr(k)
		}
		verb := "does"
		if len(extra) > 1 {
			verb = "do"
		}
		return fault.BadRequest(fmt.Sprintf("%s %s not match any of the regexes: '^_'", strings.Join(quoted, ", "), verb))
	}
	for _, k := range extra {
		delete(q.values, k)
	}
	q.order = slices.DeleteFunc(q.order, func(k string) bool { return slices.Contains(extra, k) })
	return nil
}

func checkQueryValue(p queryParam, val string, sortEnum []string) error {
	switch p.format {
	case fmtRegex:
		if _, err := compileFilterRegex(p.name, val); err != nil {
			return err
		}
	case fmtDateTime:
		if _, err := parseISOTime(val); err != nil {
			return invalidQuery(p.name, val, fmt.Sprintf("%s is not a 'date-time'", wsgi.PyRepr(val)))
		}
	case fmtSortKey:
		if !slices.Contains(sortEnum, val) {
			q := make([]string, len(sortEnum))
			for i, k := range sortEnum {
				q[i] = wsgi.PyRepr(k)
			}
			return invalidQuery(p.name, val, fmt.Sprintf("%s is not one of [%s]", wsgi.PyRepr(val), strings.Join(q, ", ")))
		}
	case fmtLimit:
		if !integerPatterns[nonNegativePattern].MatchString(val) {
			return invalidQuery(p.name, val, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(val), wsgi.PyRepr(nonNegativePattern)))
		}
	}
	return nil
}

// compileFilterRegex is the schema's 'regex' format (the value must be a
// non-empty pattern re.compile accepts) and the pattern both stores run.
func compileFilterRegex(name, val string) (*pyregex.Regex, error) {
	if val == "" {
		return nil, invalidQuery(name, val, "'' is not a 'regex'")
	}
	re, err := pyregex.Compile(val)
	var uns *pyregex.UnsupportedError
	switch {
	case errors.As(err, &uns):
		return nil, invalidQuery(name, val, uns.Error())
	case err != nil:
		return nil, invalidQuery(name, val, fmt.Sprintf("%s is not a 'regex'", wsgi.PyRepr(val)))
	}
	return re, nil
}

// isoTimePattern is the iso8601 module's ISO8601_REGEX (what oslo's
// parse_isotime accepts), without its (?!$) after a dashless month, which
// parseISOTime checks itself.
var isoTimePattern = regexp.MustCompile(`^([0-9]{4})(?:(?:-([0-9]{1,2})|([0-9]{2}))(?:(?:-([0-9]{1,2})|([0-9]{2}))` +
	`(?:([ T])([0-9]{2})(?::?([0-9]{2}))?(?::?([0-9]{1,2})(?:[.,]([0-9]+))?)?(Z|([-+])([0-9]{2}):?([0-9]{2})?)?)?)?)?$`)

// parseISOTime is oslo's timeutils.parse_isotime: ISO 8601, UTC when no
// zone is given.
func parseISOTime(s string) (time.Time, error) {
	m := isoTimePattern.FindStringSubmatchIndex(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("unable to parse date string %q", s)
	}
	group := func(i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return s[m[2*i]:m[2*i+1]]
	}
	if group(3) != "" && m[7] == len(s) {
		return time.Time{}, fmt.Errorf("unable to parse date string %q", s) // YYYYMM
	}
	num := func(i, def int) int {
		if g := group(i); g != "" {
			n, _ := strconv.Atoi(g)
			return n
		}
		return def
	}
	year := num(1, 0)
	month := num(2, num(3, 1))
	day := num(4, num(5, 1))
	hour, minute, sec := num(7, 0), num(8, 0), num(9, 0)
	usec := 0
	if frac := group(10); frac != "" {
		frac = (frac + "000000")[:6]
		usec, _ = strconv.Atoi(frac)
	}
	loc := time.UTC
	if tz := group(11); tz != "" && tz != "Z" {
		off := num(13, 0)*60 + num(14, 0)
		if off >= 24*60 {
			return time.Time{}, fmt.Errorf("offset out of range in %q", s)
		}
		if group(12) == "-" {
			off = -off
		}
		loc = time.FixedZone("", off*60)
	}
	if year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("date out of range in %q", s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, loc)
	if t.Day() != day || day < 1 {
		return time.Time{}, fmt.Errorf("day is out of range for month in %q", s)
	}
	return t.UTC(), nil
}

// lackedColumns are nova's instance columns gonova keeps no value of: a
// regex filter on one matches nothing, as nova's matches no NULL.
var lackedColumns = []string{"kernel_id", "ramdisk_id", "hostname",
	"display_description", "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6",
	"auto_disk_config", "progress"}

// exactColumns and regexColumns map nova's filter names (after get_all's
// remapping) to the columns gonova keeps.
var (
	exactColumns = map[string]computedb.Column{"project_id": computedb.ColProjectID, "user_id": computedb.ColUserID,
		"image_ref": computedb.ColImageRef, "vm_state": computedb.ColVMState, "task_state": computedb.ColTaskState,
		"uuid": computedb.ColUUID, "host": computedb.ColHost, "flavor": computedb.ColFlavorID}
	regexColumns = map[string]computedb.Column{"display_name": computedb.ColDisplayName, "node": computedb.ColNode,
		"power_state": computedb.ColPowerState, "launched_at": computedb.ColLaunchedAt,
		"terminated_at": computedb.ColTerminatedAt, "created_at": computedb.ColCreatedAt,
		"availability_zone": computedb.ColAvailabilityZone, "locked_by": computedb.ColLockedBy, "key_name": computedb.ColKeyName,
		"reservation_id": computedb.ColReservationID, "launch_index": computedb.ColLaunchIndex}
	// sortColumns maps nova's sort keys to gonova's columns; the other
	// valid keys name columns gonova holds one value for (NULL), by which
	// sorting changes nothing.
	sortColumns = map[string]computedb.Column{"created_at": computedb.ColCreatedAt, "updated_at": computedb.ColUpdatedAt,
		"launched_at": computedb.ColLaunchedAt, "terminated_at": computedb.ColTerminatedAt,
		"display_name": computedb.ColDisplayName, "host": computedb.ColHost, "node": computedb.ColNode,
		"power_state": computedb.ColPowerState, "project_id": computedb.ColProjectID, "user_id": computedb.ColUserID,
		"uuid": computedb.ColUUID, "vm_state": computedb.ColVMState, "task_state": computedb.ColTaskState,
		"image_ref": computedb.ColImageRef, "instance_type_id": computedb.ColFlavorID,
		"availability_zone": computedb.ColAvailabilityZone, "id": computedb.ColID,
		"locked": computedb.ColLocked, "locked_by": computedb.ColLockedBy, "key_name": computedb.ColKeyName, "launch_index": computedb.ColLaunchIndex}
)

// aliases are get_all's filter_mapping: the later in the query wins.
var filterAliases = map[string]string{"image": "image_ref", "name": "display_name", "tenant_id": "project_id"}

// serverList is a parsed list request: empty means nova answers an empty
// list at once (an unknown status before 2.38).
type serverList struct {
	req   computeapi.ListRequest
	limit int
	empty bool
}

// parseServerList is _get_servers up to compute_api.get_all.
func (h *handlers) parseServerList(r *http.Request, detail bool) (serverList, error) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	isAdmin := h.isAdmin(r) // nova's context.is_admin
	q, err := readServerQuery(r)
	if err != nil {
		return serverList{}, err
	}
	if err := q.validate(v); err != nil {
		return serverList{}, err
	}
	// nova: the query schema (400), then the policy on the caller's own
	// project, then the filters.
	action := polServersIndex
	if detail {
		action = polServersDetail
	}
	if err := h.enf.Authorize(ctx, action); err != nil {
		return serverList{}, err
	}
	// remove_invalid_options
	opts := map[string]string{}
	var order []string
	allowAll := h.enf.Allowed(ctx, polServersAllFilters, nil)
	allowed := nonAdminFilters(v)
	for _, k := range q.order {
		if allowAll && !slices.Contains([]string{"sort_key", "sort_dir", "limit", "marker"}, k) ||
			!allowAll && slices.Contains(allowed, k) {
			opts[k] = q.last(k)
			order = append(order, k)
		}
	}
	for _, k := range order {
		if slices.Contains(joinedTableParams, k) || strings.HasPrefix(k, "_") {
			return serverList{}, fault.BadRequest(fmt.Sprintf("Invalid filter field: %s.", k))
		}
	}
	var out serverList
	f := &out.req.Filter
	var vmStates, taskStates []string
	delete(opts, "status")
	if q.has("status") {
		vmStates, taskStates = statesFromStatuses(q.values["status"])
		if len(vmStates) == 0 && len(taskStates) == 0 {
			if v.AtLeast(2, 38) {
				return serverList{}, fault.BadRequest("Invalid status value")
			}
			out.empty = true
			return out, nil
		}
		if slices.Contains(taskStates, "default") {
			taskStates = nil
		}
	}
	var since, before *time.Time
	if s, ok := opts["changes-since"]; ok {
		t, err := parseISOTime(s)
		if err != nil {
			return serverList{}, fault.BadRequest("Invalid filter field: changes-since.")
		}
		since = &t
	}
	if s, ok := opts["changes-before"]; ok {
		t, err := parseISOTime(s)
		if err != nil {
			return serverList{}, fault.BadRequest("Invalid filter field: changes-before.")
		}
		if since != nil && t.Before(*since) {
			return serverList{}, fault.BadRequest("The value of changes-since must be less than or equal to changes-before.")
		}
		before = &t
	}
	f.ChangesSince, f.ChangesBefore = since, before
	deleted, hasDeleted := false, false
	if s, ok := opts["deleted"]; ok {
		deleted, hasDeleted = boolFromString(s), true
	} else if since == nil && before == nil {
		hasDeleted = true
	}
	if len(vmStates) == 1 && vmStates[0] == string(states.VMDeleted) {
		if !isAdmin {
			return serverList{}, fault.Newf(http.StatusForbidden, "Only administrators may list deleted instances")
		}
		deleted, hasDeleted = true, true
	}
	soft, hasSoft := opts["soft_deleted"]
	switch {
	case !hasDeleted:
		f.Deleted = computedb.LiveAndDeleted
	case deleted:
		f.Deleted = computedb.DeletedOnly
		if !hasSoft || soft != "" { // nova: filters.pop('soft_deleted', True), a string's truth
			f.SoftDeleted = computedb.AddSoftDeleted
		}
	default:
		if !hasSoft || soft == "" {
			f.SoftDeleted = computedb.HideSoftDeleted
		}
	}
	if v.AtLeast(2, 26) {
		for k, dst := range map[string]*[]string{"tags": &f.Tags, "tags-any": &f.TagsAny, "not-tags": &f.NotTags, "not-tags-any": &f.NotTagsAny} {
			if s, ok := opts[k]; ok {
				*dst = strings.Split(s, ",")
			}
		}
	}
	allTenants := false
	if s, ok := opts["all_tenants"]; ok {
		allTenants = true
		if s != "" {
			b, ok := strictBool(s)
			if !ok {
				return serverList{}, fault.BadRequest(fmt.Sprintf("Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", s))
			}
			allTenants = b
		}
	}
	if s, ok := opts["locked"]; ok {
		b, ok := strictBool(s)
		if !ok {
			return serverList{}, fault.BadRequest(fmt.Sprintf("Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", s))
		}
		f.Locked = &b
	}
	if allTenants {
		allAction := polServersAllIndex
		if detail {
			allAction = polServersAllDetail
		}
		if err := h.enf.Authorize(ctx, allAction); err != nil {
			return serverList{}, err
		}
		out.req.AllProjects = true
	}
	// The filters proper, as get_all remaps them and the database matches
	// them (exact or regex).
	f.Exact, f.Regex = map[computedb.Column][]string{}, map[computedb.Column]*pyregex.Regex{}
	remapped := map[string]string{}
	for _, k := range order {
		name := k
		if a, ok := filterAliases[k]; ok {
			name = a
		}
		if k == "tenant_id" && !allTenants {
			continue // lp:#1185290: ignored without all_tenants
		}
		remapped[name] = opts[k]
	}
	for name, val := range remapped {
		if col, ok := exactColumns[name]; ok && name != "vm_state" && name != "task_state" {
			f.Exact[col] = []string{val}
		}
	}
	if s, ok := remapped["vm_state"]; ok {
		f.Exact[computedb.ColVMState] = []string{s}
	}
	if s, ok := remapped["task_state"]; ok {
		f.Exact[computedb.ColTaskState] = []string{s}
	}
	if vmStates != nil {
		f.Exact[computedb.ColVMState] = vmStates
	}
	if taskStates != nil {
		f.Exact[computedb.ColTaskState] = taskStates
	}
	nothing := false
	for name, val := range remapped {
		switch {
		case regexColumns[name] != "":
			re, err := compileFilterRegex(name, val)
			if err != nil {
				return serverList{}, err
			}
			f.Regex[regexColumns[name]] = re
		case slices.Contains(lackedColumns, name):
			nothing = true // see lackedColumns
		}
	}
	for name, dst := range map[string]**pyregex.Regex{"ip": &out.req.IP, "ip6": &out.req.IP6} {
		if s, ok := remapped[name]; ok {
			if *dst, err = compileFilterRegex(name, s); err != nil {
				return serverList{}, err
			}
		}
	}

	limit, marker, _, err := h.pageParams(q.values)
	if err != nil {
		return serverList{}, err
	}
	out.limit, out.req.Limit, out.req.Marker = limit, limit, marker
	if f.Sort, err = serverSort(q, v, isAdmin); err != nil {
		return serverList{}, err
	}
	out.empty = nothing
	return out, nil
}

// serverSort is get_sort_params, remove_invalid_sort_keys and the
// database's process_sort_params: the keys asked for (created_at desc by
// default), then created_at and id in the first direction.
func serverSort(q serverQuery, v microversion.Version, isAdmin bool) ([]computedb.SortKey, error) {
	var keys, dirs []string
	for _, k := range q.values["sort_key"] {
		keys = append(keys, strings.TrimSpace(k))
	}
	for _, d := range q.values["sort_dir"] {
		dirs = append(dirs, strings.TrimSpace(d))
	}
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if len(dirs) == 0 {
		dirs = []string{"desc"}
	}
	ignored := ignoredSortKeysAt(v)
	for _, k := range slices.Clone(keys) {
		i := slices.Index(keys, k)
		switch {
		case slices.Contains(ignored, k):
			if len(dirs) > i {
				dirs = slices.Delete(dirs, i, i+1)
			}
			keys = slices.Delete(keys, i, i+1)
		case (k == "host" || k == "node") && !isAdmin:
			return nil, fault.Newf(http.StatusForbidden, "Only administrators can sort servers by %s", k)
		}
	}
	defDir := "desc"
	if len(dirs) > 0 {
		defDir = dirs[0]
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			return nil, fault.BadRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
		}
	}
	for len(dirs) < len(keys) {
		dirs = append(dirs, defDir)
	}
	if len(dirs) > len(keys) {
		return nil, fault.BadRequest("Invalid input received: Sort direction size exceeds sort key size")
	}
	for _, k := range []string{"created_at", "id"} {
		if !slices.Contains(keys, k) {
			keys, dirs = append(keys, k), append(dirs, defDir)
		}
	}
	out := make([]computedb.SortKey, 0, len(keys))
	for i, k := range keys {
		if col, ok := sortColumns[k]; ok {
			out = append(out, computedb.SortKey{Column: col, Desc: dirs[i] == "desc"})
		}
	}
	return out, nil
}

// statusMap is nova's _STATE_MAP: each vm state's statuses by task state
// ("default" for any other).
var statusMap = map[states.VMState]map[string]states.Status{
	states.VMActive: {"default": states.StatusActive,
		"rebooting": states.StatusReboot, "reboot_pending": states.StatusReboot, "reboot_started": states.StatusReboot,
		"rebooting_hard": states.StatusHardReboot, "reboot_pending_hard": states.StatusHardReboot,
		"reboot_started_hard": states.StatusHardReboot, "updating_password": states.StatusPassword,
		"rebuilding": states.StatusRebuild, "rebuild_block_device_mapping": states.StatusRebuild,
		"rebuild_spawning": states.StatusRebuild, "migrating": states.StatusMigrating,
		"resize_prep": states.StatusResize, "resize_migrating": states.StatusResize,
		"resize_migrated": states.StatusResize, "resize_finish": states.StatusResize},
	states.VMBuilding: {"default": states.StatusBuild},
	states.VMStopped: {"default": states.StatusShutoff, "resize_prep": states.StatusResize,
		"resize_migrating": states.StatusResize, "resize_migrated": states.StatusResize,
		"resize_finish": states.StatusResize, "rebuilding": states.StatusRebuild,
		"rebuild_block_device_mapping": states.StatusRebuild, "rebuild_spawning": states.StatusRebuild},
	states.VMResized:   {"default": states.StatusVerifyResize, "resize_reverting": states.StatusRevertResize},
	states.VMPaused:    {"default": states.StatusPaused, "migrating": states.StatusMigrating},
	states.VMSuspended: {"default": states.StatusSuspended},
	states.VMRescued:   {"default": states.StatusRescue},
	states.VMError: {"default": states.StatusError, "rebuilding": states.StatusRebuild,
		"rebuild_block_device_mapping": states.StatusRebuild, "rebuild_spawning": states.StatusRebuild},
	states.VMDeleted:          {"default": states.StatusDeleted},
	states.VMSoftDeleted:      {"default": states.StatusSoftDeleted},
	states.VMShelved:          {"default": states.StatusShelved},
	states.VMShelvedOffloaded: {"default": states.StatusShelvedOffloaded},
}

// statesFromStatuses is nova's task_and_vm_state_from_status: the vm and
// task states (sorted; "default" among the task states when a status is
// a vm state's own) whose status is one of statuses, any case.
func statesFromStatuses(statuses []string) (vm, task []string) {
	want := map[string]bool{}
	for _, s := range statuses {
		want[strings.ToLower(s)] = true
	}
	vmSet, taskSet := map[string]bool{}, map[string]bool{}
	for st, tasks := range statusMap {
		for t, status := range tasks {
			if want[strings.ToLower(string(status))] {
				vmSet[string(st)], taskSet[t] = true, true
			}
		}
	}
	for s := range vmSet {
		vm = append(vm, s)
	}
	for s := range taskSet {
		task = append(task, s)
	}
	slices.Sort(vm)
	slices.Sort(task)
	return vm, task
}

// boolFromString is oslo's bool_from_string(s, default=False).
func boolFromString(s string) bool {
	b, _ := strictBool(s)
	return b
}

// strictBool is oslo's bool_from_string(s, strict=True).
func strictBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}

// listServers is GET /servers and /servers/detail: nova's filters, sort
// keys and paging (limit, marker, a "next" link when the page is full) over
// the caller's project, or every project for an admin asking all_tenants.
func (h *handlers) listServers(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sl, err := h.parseServerList(r, detail)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		if sl.empty || sl.limit == 0 {
			writeJSON(w, http.StatusOK, map[string]any{"servers": []any{}})
			return
		}
		list, err := h.capi.List(ctx, h.computeCaller(r), sl.req)
		if errors.Is(err, computedb.ErrFilterTooComplex) {
			fault.Write(w, r, fault.BadRequest("Invalid input for query parameters: a regular expression is too complex for the database"))
			return
		}
		if err != nil {
			fault.Write(w, r, serverFault(err, ""))
			return
		}
		resp := map[string]any{}
		if detail {
			vc, err := h.viewContext(r, nil)
			if err != nil {
				fault.Write(w, r, err)
				return
			}
			out := make([]map[string]any, len(list))
			for i, in := range list {
				out[i] = serverDetail(vc, in)
			}
			resp["servers"] = out
		} else {
			base := baseURL(r)
			out := make([]serverBrief, len(list))
			for i, in := range list {
				out[i] = serverBrief{ID: in.UUID, Name: in.DisplayName, Links: serverLinks(base, in.UUID)}
			}
			resp["servers"] = out
		}
		if len(list) > 0 && len(list) == sl.limit {
			path := "/v2.1/servers"
			if detail {
				path += "/detail"
			}
			resp["servers_links"] = []link{nextLink(r, path, sl.limit, list[len(list)-1].UUID)}
		}
		writeJSON(w, http.StatusOK, resp)
	}
}
