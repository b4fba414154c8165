package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// nova's os-hypervisors policies beside list, list-detail and show
// (router.go), each checked on the empty target.
const (
	polHypervisorsStatistics = "os_compute_api:os-hypervisors:statistics"
	polHypervisorsUptime     = "os_compute_api:os-hypervisors:uptime"
	polHypervisorsSearch     = "os_compute_api:os-hypervisors:search"
	polHypervisorsServers    = "os_compute_api:os-hypervisors:servers"
)

// hypervisorService is the service block of a detailed hypervisor.
type hypervisorService struct {
	ID             any     `json:"id"`
	Host           string  `json:"host"`
	DisabledReason *string `json:"disabled_reason"`
}

// hypervisorOpts is what a hypervisor view shows beside the node.
type hypervisorOpts struct {
	detail bool
	// servers are the instances on the node's host; withServers asked
	// for them (2.53's with_servers).
	servers     []computedb.Instance
	withServers bool
	// uptime is the host's uptime line (2.88 detail), nil for null.
	uptime *string
}

// hypervisorView is nova's _view_hypervisor at v.
func (h *handlers) hypervisorView(n computedb.Node, svc registry.Service, now time.Time, v microversion.Version, o hypervisorOpts) map[string]any {
	uuids := v.AtLeast(2, 53)
	m := map[string]any{
		"id":                  n.ID,
		"hypervisor_hostname": n.HypervisorHostname,
		"state":               "down",
		"status":              "enabled",
	}
	if uuids {
		m["id"] = n.UUID
	}
	if servicegroup.IsUp(svc, now, h.downTime) {
		m["state"] = "up"
	}
	if svc.Disabled {
		m["status"] = "disabled"
	}
	if o.detail {
		hs := hypervisorService{ID: svc.ID, Host: n.Host}
		if uuids {
			hs.ID = svc.UUID
		}
		if svc.DisabledReason != "" {
			r := svc.DisabledReason
			hs.DisabledReason = &r
		}
		m["hypervisor_type"] = n.HypervisorType
		m["hypervisor_version"] = n.HypervisorVersion
		m["host_ip"] = nullString(n.HostIP)
		m["service"] = hs
	}
	if o.detail && v.Before(2, 88) {
		m["vcpus"] = n.VCPUs
		m["memory_mb"] = n.MemoryMB
		m["local_gb"] = n.LocalGB
		m["vcpus_used"] = n.VCPUsUsed
		m["memory_mb_used"] = n.MemoryMBUsed
		m["local_gb_used"] = n.LocalGBUsed
		m["free_ram_mb"] = n.FreeRAMMB
		m["free_disk_gb"] = n.FreeDiskGB
		m["current_workload"] = n.CurrentWorkload
		m["running_vms"] = n.RunningVMs
		m["disk_available_least"] = n.DiskAvailableLeast
		if v.Before(2, 28) {
			m["cpu_info"] = n.CPUInfo
		} else {
			m["cpu_info"] = cpuInfoObject(n.CPUInfo)
		}
	}
	if o.detail && v.AtLeast(2, 88) {
		m["uptime"] = o.uptime
	}
	switch {
	case len(o.servers) > 0:
		srv := make([]map[string]string, len(o.servers))
		for i, in := range o.servers {
			srv[i] = map[string]string{"name": in.DisplayName, "uuid": in.UUID}
		}
		m["servers"] = srv
	case o.withServers && v.AtLeast(2, 75):
		m["servers"] = []map[string]string{}
	}
	return m
}

// cpuInfoObject is cpu_info from 2.28: the stored JSON decoded, {} when
// empty. Text that is not a JSON object (a driver's mistake; nova would
// fail with a 500) is shown as {} rather than failing the whole list.
func cpuInfoObject(s string) map[string]any {
	info := map[string]any{}
	if s != "" {
		if err := json.Unmarshal([]byte(s), &info); err != nil || info == nil {
			return map[string]any{}
		}
	}
	return info
}

// computeServices maps host to its live nova-compute service, with the
// store's clock.
func (h *handlers) computeServices(r *http.Request) (map[string]registry.Service, time.Time, error) {
	rows, now, err := h.services.List(r.Context(), registry.Filter{Binary: registry.BinaryCompute})
	if err != nil {
		return nil, time.Time{}, err
	}
	m := make(map[string]registry.Service, len(rows))
	for _, s := range rows {
		m[s.Host] = s
	}
	return m, now, nil
}

// hypervisorQuery is a validated list query.
type hypervisorQuery struct {
	limit       int
	limitGiven  bool
	marker      string
	markerGiven bool
	pattern     *string
	withServers bool
}

// singleQuery is nova's single_param: at most one value.
func singleQuery(q url.Values, name string) (string, bool, error) {
	vs, ok := q[name]
	if !ok {
		return "", false, nil
	}
	if len(vs) > 1 {
		items := make([]any, len(vs))
		for i, s := range vs {
			items[i] = s
		}
		return "", true, invalidQuery(name, wsgi.PyRepr(items), wsgi.PyRepr(items)+" is too long")
	}
	return vs[0], true, nil
}

// queryBoolean is parameter_types.boolean on a query value, then
// strutils.bool_from_string(strict=True).
func queryBoolean(name, s string) (bool, error) {
	for i, b := range booleanValues {
		if b == s {
			return i < 11, nil
		}
	}
	q := make([]string, len(booleanValues))
	for i, b := range booleanValues {
		q[i] = wsgi.PyRepr(b)
	}
	return false, invalidQuery(name, s, fmt.Sprintf("%s is not one of [%s]", wsgi.PyRepr(s), strings.Join(q, ", ")))
}

// parseHypervisorQuery validates the list query by nova's schemas at v:
// none before 2.33, limit and marker (others ignored) to 2.52, and from
// 2.53 those plus hypervisor_hostname_pattern and with_servers, nothing
// else.
func (h *handlers) parseHypervisorQuery(r *http.Request, v microversion.Version) (hypervisorQuery, error) {
	q := r.URL.Query()
	hq := hypervisorQuery{limit: h.maxLimit}
	if v.Before(2, 33) {
		return hq, nil
	}
	if v.Before(2, 53) {
		limit, marker, _, err := h.pageParams(q)
		_, hq.limitGiven = q["limit"]
		_, hq.markerGiven = q["marker"]
		hq.limit, hq.marker = limit, marker
		return hq, err
	}
	s, ok, err := singleQuery(q, "limit")
	if err != nil {
		return hq, err
	}
	if ok {
		if s == "" || !integerPatterns[nonNegativePattern].MatchString(s) {
			return hq, invalidQuery("limit", s, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(s), wsgi.PyRepr(nonNegativePattern)))
		}
		if n, err := strconv.Atoi(s); err == nil && n < hq.limit {
			hq.limit = n
		}
		hq.limitGiven = true
	}
	if hq.marker, hq.markerGiven, err = singleQuery(q, "marker"); err != nil {
		return hq, err
	}
	s, ok, err = singleQuery(q, "hypervisor_hostname_pattern")
	if err != nil {
		return hq, err
	}
	if ok {
		if err := fqdnQuery("hypervisor_hostname_pattern", s); err != nil {
			return hq, err
		}
		pattern := s
		hq.pattern = &pattern
	}
	s, ok, err = singleQuery(q, "with_servers")
	if err != nil {
		return hq, err
	}
	if ok {
		if hq.withServers, err = queryBoolean("with_servers", s); err != nil {
			return hq, err
		}
	}
	if err := checkQueryKeys(q, "limit", "marker", "hypervisor_hostname_pattern", "with_servers"); err != nil {
		return hq, err
	}
	if hq.pattern != nil && (hq.limitGiven || hq.marker != "") {
		return hq, fault.BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
	}
	return hq, nil
}

// fqdnQuery is parameter_types.fqdn on a query value.
func fqdnQuery(name, s string) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n < 1:
		return invalidQuery(name, s, wsgi.PyRepr(s)+" is too short")
	case n > 255:
		return invalidQuery(name, s, wsgi.PyRepr(s)+" is too long")
	case !fqdnRule.pattern.MatchString(s):
		return invalidQuery(name, s, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(s), wsgi.PyRepr(fqdnPattern)))
	}
	return nil
}

// likePattern is SQL's LIKE '%pattern%' as nova's
// compute_node_search_by_hypervisor runs it: '_' any one character, '%'
// any run, case-insensitive as MySQL's default collation.
func likePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)")
	for _, r := range p {
		switch r {
		case '_':
			b.WriteString(".")
		case '%':
			b.WriteString(".*")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return regexp.MustCompile(b.String())
}

// nodesMatching is nova's _get_compute_nodes_by_name_pattern: the nodes
// whose hypervisor_hostname contains pattern, 404 when none does.
func (h *handlers) nodesMatching(r *http.Request, pattern string) ([]computedb.Node, error) {
	nodes, err := h.compute.ListNodes(r.Context())
	if err != nil {
		return nil, err
	}
	re := likePattern(pattern)
	nodes = slices.DeleteFunc(nodes, func(n computedb.Node) bool { return !re.MatchString(n.HypervisorHostname) })
	if len(nodes) == 0 {
		return nil, fault.NotFound(fmt.Sprintf("No hypervisor matching '%s' could be found.", pattern))
	}
	return nodes, nil
}

// hostInstances is nova's instance_get_all_by_host: the live instances
// of host, every project's, by id.
func (h *handlers) hostInstances(r *http.Request, host string) ([]computedb.Instance, error) {
	return h.compute.ListInstances(r.Context(), computedb.InstanceFilter{Host: host, Sort: []computedb.SortKey{{Column: computedb.ColID}}})
}

// uptimeOrNull is the 2.88 detail's uptime: the host's, or null when the
// compute cannot tell (down, no driver support), as nova.
func (h *handlers) uptimeOrNull(r *http.Request, host string) *string {
	u, err := h.capi.HostUptime(r.Context(), host)
	if err != nil {
		h.log.DebugContext(r.Context(), "hypervisor uptime unknown", "host", host, "error", err)
		return nil
	}
	return &u
}

// listHypervisors is GET /os-hypervisors and /os-hypervisors/detail.
// Nodes whose compute service is gone are skipped, as nova skips them.
func (h *handlers) listHypervisors(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.listHypervisorsErr(w, r, detail); err != nil {
			fault.Write(w, r, err)
		}
	}
}

func (h *handlers) listHypervisorsErr(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	hq, err := h.parseHypervisorQuery(r, v)
	if err != nil {
		return err
	}
	pol := polHypervisorsList
	if detail {
		pol = polHypervisorsDet
	}
	if err := h.enf.AuthorizeTarget(ctx, pol, policy.Target{}); err != nil {
		return err
	}
	links := v.AtLeast(2, 33)
	var nodes []computedb.Node
	if hq.pattern != nil {
		links = false
		if nodes, err = h.nodesMatching(r, *hq.pattern); err != nil {
			return err
		}
	} else {
		if nodes, err = h.compute.ListNodes(ctx); err != nil {
			return err
		}
		if hq.marker != "" {
			i := slices.IndexFunc(nodes, func(n computedb.Node) bool {
				if v.AtLeast(2, 53) {
					return n.UUID == strings.ToLower(hq.marker)
				}
				return strconv.FormatInt(n.ID, 10) == hq.marker
			})
			if i < 0 {
				return fault.BadRequest(fmt.Sprintf("marker [%s] not found", hq.marker))
			}
			nodes = nodes[i+1:]
		}
		if len(nodes) > hq.limit {
			nodes = nodes[:hq.limit]
		}
	}
	svcs, now, err := h.computeServices(r)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(nodes))
	for _, n := range nodes {
		svc, ok := svcs[n.Host]
		if !ok {
			h.log.DebugContext(ctx, "hypervisor has no compute service; not shown", "host", n.Host, "node_id", n.ID)
			continue
		}
		o := hypervisorOpts{detail: detail, withServers: hq.withServers}
		if hq.withServers {
			if o.servers, err = h.hostInstances(r, n.Host); err != nil {
				return err
			}
		}
		if detail && v.AtLeast(2, 88) {
			o.uptime = h.uptimeOrNull(r, n.Host)
		}
		out = append(out, h.hypervisorView(n, svc, now, v, o))
	}
	resp := map[string]any{"hypervisors": out}
	if links {
		max := h.maxLimit
		if s, ok := r.URL.Query()["limit"]; ok {
			if n, err := strconv.Atoi(lastValue(s)); err == nil && n < max {
				max = n
			}
		}
		if max > 0 && max == len(out) {
			path := "/v2.1/os-hypervisors"
			if detail {
				path += "/detail"
			}
			resp["hypervisors_links"] = []link{hypervisorNextLink(r, path, fmt.Sprint(out[len(out)-1]["id"]))}
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// hypervisorByID is nova's _validate_id and compute_node_get: a uuid from
// 2.53 (400 otherwise), an integer before (404 otherwise), and the node
// with its compute service (404 when either is missing).
func (h *handlers) hypervisorByID(r *http.Request, id string) (computedb.Node, registry.Service, time.Time, error) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	notFound := fault.NotFound(fmt.Sprintf("Hypervisor with ID '%s' could not be found.", id))
	var node computedb.Node
	if v.AtLeast(2, 53) {
		want, ok := uuidLike(id)
		if !ok {
			return node, registry.Service{}, time.Time{}, fault.BadRequest("Invalid uuid " + id)
		}
		nodes, err := h.compute.ListNodes(ctx)
		if err != nil {
			return node, registry.Service{}, time.Time{}, err
		}
		i := slices.IndexFunc(nodes, func(n computedb.Node) bool { return n.UUID == want })
		if i < 0 {
			return node, registry.Service{}, time.Time{}, notFound
		}
		node = nodes[i]
	} else {
		n, perr := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if perr != nil {
			return node, registry.Service{}, time.Time{}, notFound
		}
		var err error
		node, err = h.compute.GetNode(ctx, n)
		if errors.Is(err, computedb.ErrNotFound) {
			return node, registry.Service{}, time.Time{}, notFound
		}
		if err != nil {
			return node, registry.Service{}, time.Time{}, err
		}
	}
	svcs, now, err := h.computeServices(r)
	if err != nil {
		return node, registry.Service{}, time.Time{}, err
	}
	svc, ok := svcs[node.Host]
	if !ok {
		return node, registry.Service{}, time.Time{}, notFound
	}
	return node, svc, now, nil
}

// showHypervisor is GET /os-hypervisors/{id}; with_servers from 2.53.
func (h *handlers) showHypervisor(w http.ResponseWriter, r *http.Request) {
	if err := h.showHypervisorErr(w, r); err != nil {
		fault.Write(w, r, err)
	}
}

func (h *handlers) showHypervisorErr(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	var withServers bool
	if v.AtLeast(2, 53) {
		q := r.URL.Query()
		s, ok, err := singleQuery(q, "with_servers")
		if err != nil {
			return err
		}
		if ok {
			if withServers, err = queryBoolean("with_servers", s); err != nil {
				return err
			}
		}
		if err := checkQueryKeys(q, "with_servers"); err != nil {
			return err
		}
	}
	if err := h.enf.AuthorizeTarget(ctx, polHypervisorsShow, policy.Target{}); err != nil {
		return err
	}
	node, svc, now, err := h.hypervisorByID(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	o := hypervisorOpts{detail: true, withServers: withServers}
	if withServers {
		if o.servers, err = h.hostInstances(r, node.Host); err != nil {
			return err
		}
	}
	if v.AtLeast(2, 88) {
		o.uptime = h.uptimeOrNull(r, node.Host)
	}
	writeJSON(w, http.StatusOK, map[string]any{"hypervisor": h.hypervisorView(node, svc, now, v, o)})
	return nil
}

// hypervisorUptime is GET /os-hypervisors/{id}/uptime (2.1-2.87): the
// brief view with the host's uptime; 400 when the compute is down, 501
// when its driver cannot tell.
func (h *handlers) hypervisorUptime(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	node, svc, now, err := h.hypervisorByID(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	u, err := h.capi.HostUptime(ctx, node.Host)
	switch {
	case errors.Is(err, computeapi.ErrNotSupported):
		return notSupported
	case errors.Is(err, computeapi.ErrComputeUnavailable):
		return fault.BadRequest(err.Error())
	case err != nil:
		return err
	}
	view := h.hypervisorView(node, svc, now, microversion.FromContext(ctx), hypervisorOpts{})
	view["uptime"] = u
	writeJSON(w, http.StatusOK, map[string]any{"hypervisor": view})
	return nil
}

// searchHypervisors is GET /os-hypervisors/{pattern}/search (2.1-2.52)
// and, with servers, /os-hypervisors/{pattern}/servers.
func (h *handlers) searchHypervisors(withServers bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		nodes, err := h.nodesMatching(r, chi.URLParam(r, "id"))
		if err != nil {
			return err
		}
		svcs, now, err := h.computeServices(r)
		if err != nil {
			return err
		}
		v := microversion.FromContext(r.Context())
		out := []map[string]any{}
		for _, n := range nodes {
			svc, ok := svcs[n.Host]
			if !ok {
				continue
			}
			var o hypervisorOpts
			if withServers {
				if o.servers, err = h.hostInstances(r, n.Host); err != nil {
					return err
				}
			}
			out = append(out, h.hypervisorView(n, svc, now, v, o))
		}
		writeJSON(w, http.StatusOK, map[string]any{"hypervisors": out})
		return nil
	}
}

// hypervisorStatistics is GET /os-hypervisors/statistics (2.1-2.87):
// nova's compute_node_statistics, the sums over the nodes of enabled,
// live compute services.
func (h *handlers) hypervisorStatistics(w http.ResponseWriter, r *http.Request) error {
	nodes, err := h.compute.ListNodes(r.Context())
	if err != nil {
		return err
	}
	svcs, _, err := h.computeServices(r)
	if err != nil {
		return err
	}
	var count, vcpus, vcpusUsed, workload, running int
	var mem, memUsed, disk, diskUsed, freeRAM, freeDisk, least int64
	for _, n := range nodes {
		svc, ok := svcs[n.Host]
		if !ok || svc.Disabled {
			continue
		}
		count++
		vcpus += n.VCPUs
		vcpusUsed += n.VCPUsUsed
		mem += n.MemoryMB
		memUsed += n.MemoryMBUsed
		disk += n.LocalGB
		diskUsed += n.LocalGBUsed
		freeRAM += n.FreeRAMMB
		freeDisk += n.FreeDiskGB
		workload += n.CurrentWorkload
		running += n.RunningVMs
		least += n.DiskAvailableLeast
	}
	writeJSON(w, http.StatusOK, map[string]any{"hypervisor_statistics": map[string]any{
		"count": count, "vcpus": vcpus, "memory_mb": mem, "local_gb": disk, "vcpus_used": vcpusUsed,
		"memory_mb_used": memUsed, "local_gb_used": diskUsed, "free_ram_mb": freeRAM, "free_disk_gb": freeDisk,
		"current_workload": workload, "running_vms": running, "disk_available_least": least,
	}})
	return nil
}

// pageParams reads limit and marker as nova's common.get_limit_and_marker:
// limit a non-negative integer capped at max_limit.
func (h *handlers) pageParams(q url.Values) (limit int, marker string, paged bool, err error) {
	limit = h.maxLimit
	if vs, ok := q["limit"]; ok {
		s := lastValue(vs)
		if !integerPatterns[nonNegativePattern].MatchString(s) || s == "" {
			return 0, "", false, invalidQuery("limit", s, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(s), wsgi.PyRepr(nonNegativePattern)))
		}
		n, perr := strconv.Atoi(s)
		if perr == nil && n < limit {
			limit = n
		}
		paged = true
	}
	if vs, ok := q["marker"]; ok {
		marker = lastValue(vs)
	}
	return limit, marker, paged || marker != "", nil
}

// nextLink keeps the request's other query parameters and sets limit and
// marker (the servers list's links).
func nextLink(r *http.Request, path string, limit int, marker string) link {
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	q.Set("marker", marker)
	return link{Href: baseURL(r) + path + "?" + q.Encode(), Rel: "next"}
}

// hypervisorNextLink is nova's _get_next_link: the request's query
// parameters, sorted, with marker set.
func hypervisorNextLink(r *http.Request, path string, marker string) link {
	q := r.URL.Query()
	q.Set("marker", marker)
	return link{Href: baseURL(r) + path + "?" + q.Encode(), Rel: "next"}
}
