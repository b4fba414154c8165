package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// hypervisorService is the service block of a detailed hypervisor.
type hypervisorService struct {
	ID             any     `json:"id"`
	Host           string  `json:"host"`
	DisabledReason *string `json:"disabled_reason"`
}

// hypervisorView builds one os-hypervisors item as nova's
// _view_hypervisor does for microversions below 2.88.
func (h *handlers) hypervisorView(n computedb.Node, svc registry.Service, now time.Time, v microversion.Version, detail bool) map[string]any {
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
	if !detail {
		return m
	}
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
	m["host_ip"] = n.HostIP
	m["service"] = hs
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
	if v.AtLeast(2, 28) {
		info := map[string]any{}
		if n.CPUInfo != "" {
			if err := json.Unmarshal([]byte(n.CPUInfo), &info); err != nil {
				info = map[string]any{}
			}
		}
		m["cpu_info"] = info
	} else {
		m["cpu_info"] = n.CPUInfo
	}
	return m
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

// listHypervisors is GET /os-hypervisors and /os-hypervisors/detail. Nodes
// whose compute service is gone are skipped, as nova skips them. Paging
// (limit, marker) is served from 2.33, as in nova.
func (h *handlers) listHypervisors(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		v := microversion.FromContext(ctx)
		limit, marker, paged := h.maxLimit, "", false
		if v.AtLeast(2, 33) {
			var err error
			if limit, marker, paged, err = h.pageParams(r.URL.Query()); err != nil {
				fault.Write(w, r, err)
				return
			}
		}
		nodes, err := h.compute.ListNodes(ctx)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		svcs, now, err := h.computeServices(r)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		if marker != "" {
			i := -1
			for j, n := range nodes {
				if (v.AtLeast(2, 53) && n.UUID == strings.ToLower(marker)) || (!v.AtLeast(2, 53) && strconv.FormatInt(n.ID, 10) == marker) {
					i = j
					break
				}
			}
			if i < 0 {
				fault.Write(w, r, fault.BadRequest(fmt.Sprintf("marker [%s] not found", marker)))
				return
			}
			nodes = nodes[i+1:]
		}
		if len(nodes) > limit {
			nodes = nodes[:limit]
		}
		out := make([]map[string]any, 0, len(nodes))
		var lastID any
		for _, n := range nodes {
			svc, ok := svcs[n.Host]
			if !ok {
				h.log.DebugContext(ctx, "hypervisor has no compute service; not shown", "host", n.Host, "node_id", n.ID)
				continue
			}
			view := h.hypervisorView(n, svc, now, v, detail)
			lastID = view["id"]
			out = append(out, view)
		}
		resp := map[string]any{"hypervisors": out}
		if paged && len(nodes) == limit && lastID != nil {
			path := "/v2.1/os-hypervisors"
			if detail {
				path += "/detail"
			}
			resp["hypervisors_links"] = []link{nextLink(r, path, limit, fmt.Sprint(lastID))}
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// showHypervisor is GET /os-hypervisors/{id}.
func (h *handlers) showHypervisor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	id := chi.URLParam(r, "id")
	notFound := fault.NotFound(fmt.Sprintf("Hypervisor with ID '%s' could not be found.", id))
	var node computedb.Node
	var err error
	if v.AtLeast(2, 53) {
		want, ok := uuidLike(id)
		if !ok {
			fault.Write(w, r, fault.BadRequest("Invalid uuid "+id))
			return
		}
		err = errHypervisorNotFound
		nodes, lerr := h.compute.ListNodes(ctx)
		if lerr != nil {
			fault.Write(w, r, lerr)
			return
		}
		for _, n := range nodes {
			if n.UUID == want {
				node, err = n, nil
			}
		}
	} else {
		n, perr := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if perr != nil {
			fault.Write(w, r, notFound)
			return
		}
		node, err = h.compute.GetNode(ctx, n)
	}
	if errors.Is(err, computedb.ErrNotFound) || errors.Is(err, errHypervisorNotFound) {
		fault.Write(w, r, notFound)
		return
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	svcs, now, err := h.computeServices(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	svc, ok := svcs[node.Host]
	if !ok {
		fault.Write(w, r, fault.NotFound(fmt.Sprintf("Compute host %s could not be found.", node.Host)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"hypervisor": h.hypervisorView(node, svc, now, v, true)})
}

var errHypervisorNotFound = errors.New("not found")

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

// nextLink is a "next" link for the page ending at marker, keeping the
// request's other query parameters.
func nextLink(r *http.Request, path string, limit int, marker string) link {
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	q.Set("marker", marker)
	return link{Href: baseURL(r) + path + "?" + q.Encode(), Rel: "next"}
}
