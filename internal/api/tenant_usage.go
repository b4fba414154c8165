package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// os-simple-tenant-usage, as nova's SimpleTenantUsageController: the hours
// each instance ran in [start, end) (from launched_at to terminated_at, or
// to the end), times its vcpus, memory and disk, summed per project. From
// 2.40 the servers are paged (limit, marker) with a next link.

const (
	polUsageList = "os_compute_api:os-simple-tenant-usage:list"
	polUsageShow = "os_compute_api:os-simple-tenant-usage:show"
	// usageTimeFormat is how nova's JSON writes the datetimes
	// (oslo's to_primitive).
	usageTimeFormat = "2006-01-02T15:04:05.000000"
)

// serverUsage is one entry of server_usages.
type serverUsage struct {
	Hours      float64 `json:"hours"`
	Flavor     string  `json:"flavor"`
	InstanceID string  `json:"instance_id"`
	Name       string  `json:"name"`
	TenantID   string  `json:"tenant_id"`
	MemoryMB   int64   `json:"memory_mb"`
	LocalGB    int64   `json:"local_gb"`
	VCPUs      int     `json:"vcpus"`
	StartedAt  string  `json:"started_at"`
	EndedAt    *string `json:"ended_at"`
	State      string  `json:"state"`
	Uptime     int64   `json:"uptime"`
}

// tenantUsage is one project's summary.
type tenantUsage struct {
	TenantID           string         `json:"tenant_id"`
	ServerUsages       *[]serverUsage `json:"server_usages,omitempty"`
	TotalLocalGBUsage  float64        `json:"total_local_gb_usage"`
	TotalVCPUsUsage    float64        `json:"total_vcpus_usage"`
	TotalMemoryMBUsage float64        `json:"total_memory_mb_usage"`
	TotalHours         float64        `json:"total_hours"`
	Start              string         `json:"start"`
	Stop               string         `json:"stop"`
}

// parseUsageTime is nova's _parse_datetime: empty is now; otherwise one of
// its three formats, read as UTC.
func parseUsageTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fault.BadRequest("Invalid datetime string: Datetime is in invalid format")
}

// usageHours is nova's _hours_for.
func usageHours(in computedb.Instance, start, stop time.Time) float64 {
	if in.TerminatedAt != nil && in.TerminatedAt.Before(start) || in.LaunchedAt == nil || in.LaunchedAt.After(stop) {
		return 0
	}
	from, to := *in.LaunchedAt, stop
	if from.Before(start) {
		from = start
	}
	if in.TerminatedAt != nil && in.TerminatedAt.Before(stop) {
		to = *in.TerminatedAt
	}
	return to.Sub(from).Seconds() / 3600
}

// usageRequest is a validated usage query.
type usageRequest struct {
	start, stop time.Time
	detailed    bool
	limit       int
	marker      string
	links       bool
}

// parseUsage reads start, end, detailed (index only) and, from 2.40, limit
// and marker, as nova's query schemas and _get_datetime_range do; in
// between, as nova, it runs authorize: the schema is checked before the
// policy, the times after.
func (h *handlers) parseUsage(r *http.Request, index bool, authorize func() error) (usageRequest, error) {
	v := microversion.FromContext(r.Context())
	known := []string{"start", "end"}
	if index {
		known = append(known, "detailed")
	}
	u := usageRequest{limit: h.maxLimit, links: v.AtLeast(2, 40)}
	if u.links {
		known = append(known, "limit", "marker")
	}
	if err := checkQueryKeysFrom275(r, known...); err != nil {
		return u, err
	}
	if u.links {
		n, ok, err := queryNonNegative(r, "limit")
		if err != nil {
			return u, err
		}
		if ok && n > 0 && n < int64(h.maxLimit) {
			u.limit = int(n)
		}
		if vs := r.URL.Query()["marker"]; len(vs) > 0 {
			u.marker = vs[len(vs)-1]
		}
	}
	if err := authorize(); err != nil {
		return u, err
	}
	q := r.URL.Query()
	first := func(k string) string {
		if vs := q[k]; len(vs) > 0 {
			return vs[0] // parse_qs(...)[k][0]: the first value
		}
		return ""
	}
	var err error
	if u.start, err = parseUsageTime(first("start"), time.Now().UTC()); err != nil {
		return u, err
	}
	now := time.Now().UTC() // nova reads the clock again for the end
	if u.stop, err = parseUsageTime(first("end"), now); err != nil {
		return u, err
	}
	if first("end") == "" && first("start") == "" && !u.start.Before(u.stop) {
		u.stop = u.start.Add(time.Microsecond) // the clock did not move between the reads
	}
	if !u.start.Before(u.stop) {
		return u, fault.BadRequest("Invalid start time. The start time cannot occur after the end time.")
	}
	u.detailed = first("detailed") == "1"
	if u.stop.After(now) {
		u.stop = now
	}
	return u, nil
}

// usagesFor is nova's _tenant_usages_for_period.
func (h *handlers) usagesFor(r *http.Request, u usageRequest, project string, detailed bool) ([]*tenantUsage, []serverUsage, error) {
	list, err := h.compute.ListActiveInWindow(r.Context(), computedb.UsageWindow{
		Begin: u.start, End: u.stop, ProjectID: project, Limit: u.limit, Marker: u.marker})
	if errors.Is(err, computedb.ErrNotFound) {
		return nil, nil, fault.BadRequest(fmt.Sprintf("Marker %s could not be found.", u.marker))
	}
	if err != nil {
		return nil, nil, quotaFault(err)
	}
	now := time.Now().UTC()
	var order []*tenantUsage
	byTenant := map[string]*tenantUsage{}
	all := []serverUsage{}
	for _, in := range list {
		s := serverUsage{Hours: usageHours(in, u.start, u.stop), InstanceID: in.UUID, Name: in.DisplayName, TenantID: in.ProjectID,
			MemoryMB: in.MemoryMB, LocalGB: in.RootGB, VCPUs: in.VCPUs, State: string(in.VMState)}
		s.Flavor = in.Flavor.Name // the instance's own copy of its flavor, as nova's instance.flavor
		started := *in.LaunchedAt // the window holds launched instances only
		s.StartedAt = started.UTC().Format(usageTimeFormat)
		end := now
		if in.TerminatedAt != nil {
			e := in.TerminatedAt.UTC().Format(usageTimeFormat)
			s.EndedAt, s.State, end = &e, "terminated", *in.TerminatedAt
		}
		s.Uptime = int64(end.Sub(started).Seconds())
		t, ok := byTenant[in.ProjectID]
		if !ok {
			t = &tenantUsage{TenantID: in.ProjectID, Start: u.start.Format(usageTimeFormat), Stop: u.stop.Format(usageTimeFormat)}
			if detailed {
				t.ServerUsages = &[]serverUsage{}
			}
			byTenant[in.ProjectID] = t
			order = append(order, t)
		}
		t.TotalLocalGBUsage += float64(s.LocalGB) * s.Hours
		t.TotalVCPUsUsage += float64(s.VCPUs) * s.Hours
		t.TotalMemoryMBUsage += float64(s.MemoryMB) * s.Hours
		t.TotalHours += s.Hours
		all = append(all, s)
		if detailed {
			*t.ServerUsages = append(*t.ServerUsages, s)
		}
	}
	return order, all, nil
}

// usageLinks is the next link of a full page (nova's
// _get_collection_links by instance_id).
func (h *handlers) usageLinks(r *http.Request, u usageRequest, path string, all []serverUsage) []link {
	if !u.links || len(all) == 0 || len(all) != u.limit {
		return nil
	}
	return []link{nextLink(r, path, u.limit, all[len(all)-1].InstanceID)}
}

// listTenantUsage is GET /os-simple-tenant-usage (admin): every project's
// usage, with server_usages when detailed=1.
func (h *handlers) listTenantUsage(w http.ResponseWriter, r *http.Request) {
	u, err := h.parseUsage(r, true, func() error { return h.enf.AuthorizeTarget(r.Context(), polUsageList, callerTarget(r)) })
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	usages, all, err := h.usagesFor(r, u, "", u.detailed)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	resp := map[string]any{"tenant_usages": usages}
	if usages == nil {
		resp["tenant_usages"] = []any{}
	}
	if links := h.usageLinks(r, u, "/v2.1/os-simple-tenant-usage", all); links != nil {
		resp["tenant_usages_links"] = links
	}
	writeJSON(w, http.StatusOK, resp)
}

// showTenantUsage is GET /os-simple-tenant-usage/{id}: one project's usage
// with its server_usages ({} when it has none).
func (h *handlers) showTenantUsage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	u, err := h.parseUsage(r, false, func() error { return h.enf.AuthorizeTarget(r.Context(), polUsageShow, policy.Target{"project_id": id}) })
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	usages, all, err := h.usagesFor(r, u, id, true)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	var one any = map[string]any{}
	if len(usages) > 0 {
		one = usages[0]
	}
	resp := map[string]any{"tenant_usage": one}
	if links := h.usageLinks(r, u, "/v2.1/os-simple-tenant-usage/"+id, all); links != nil {
		resp["tenant_usage_links"] = links
	}
	writeJSON(w, http.StatusOK, resp)
}

// callerTarget is oslo's default target: the caller's project and user.
func callerTarget(r *http.Request) policy.Target {
	c := caller(r)
	if c == nil {
		return nil
	}
	return policy.Target{"project_id": c.ProjectID, "user_id": c.UserID}
}
