package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// nova's os-hosts policies, checked on the empty target.
const (
	polHostsList     = "os_compute_api:os-hosts:list"
	polHostsShow     = "os_compute_api:os-hosts:show"
	polHostsUpdate   = "os_compute_api:os-hosts:update"
	polHostsReboot   = "os_compute_api:os-hosts:reboot"
	polHostsShutdown = "os_compute_api:os-hosts:shutdown"
	polHostsStart    = "os_compute_api:os-hosts:start"
)

// untilV is nova's api_version(min, max) on a method: above max the route
// is not there (404, before any policy check).
func untilV(major, minor int, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if microversion.FromContext(r.Context()).AtLeast(major, minor+1) {
			fault.Write(w, r, fault.NotFound("The resource could not be found."))
			return
		}
		next(w, r)
	}
}

// authorized checks action on the empty target, then runs next.
func (h *handlers) authorized(action string, next func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h.enf.AuthorizeTarget(r.Context(), action, policy.Target{})
		if err == nil {
			err = next(w, r)
		}
		if err != nil {
			fault.Write(w, r, err)
		}
	}
}

// listHosts is GET /os-hosts (2.1-2.42): the enabled services but the API
// ones, with their topic and zone; ?zone= keeps one zone's.
func (h *handlers) listHosts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	svcs, _, err := h.services.List(ctx, registry.Filter{})
	if err != nil {
		return err
	}
	zones, err := h.zones(ctx)
	if err != nil {
		return err
	}
	zone := lastValue(r.URL.Query()["zone"])
	out := []map[string]any{}
	for _, s := range svcs {
		if s.Disabled || slices.Contains(apiBinaries, s.Binary) {
			continue
		}
		z := zones.service(s)
		if zone != "" && z != zone {
			continue
		}
		out = append(out, map[string]any{"host_name": s.Host, "service": nullString(s.Topic), "zone": z})
	}
	writeJSON(w, http.StatusOK, map[string]any{"hosts": out})
	return nil
}

// hostNodes is nova's HostMapping lookup for a host: its compute service
// and compute nodes, 404 when it has no compute service.
func (h *handlers) hostNodes(r *http.Request, host string) ([]computedb.Node, error) {
	if _, err := h.services.GetByHostBinary(r.Context(), host, registry.BinaryCompute); err != nil {
		if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) {
			return nil, fault.NotFound(fmt.Sprintf("Host '%s' is not mapped to any cell", host))
		}
		return nil, err
	}
	all, err := h.compute.ListNodes(r.Context())
	if err != nil {
		return nil, err
	}
	var nodes []computedb.Node
	for _, n := range all {
		if n.Host == host {
			nodes = append(nodes, n)
		}
	}
	return nodes, nil
}

// showHost is GET /os-hosts/{id} (2.1-2.42): the first node's total and
// used resources, the instances' sum and each project's.
func (h *handlers) showHost(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	host := chi.URLParam(r, "id")
	nodes, err := h.hostNodes(r, host)
	if err != nil {
		return err
	}
	if len(nodes) == 0 {
		return fault.NotFound(fmt.Sprintf("Compute host %s could not be found.", host))
	}
	n := nodes[0]
	insts, err := h.compute.ListInstances(ctx, computedb.InstanceFilter{Host: host, Sort: []computedb.SortKey{{Column: computedb.ColID}}})
	if err != nil {
		return err
	}
	res := func(project string, cpu, mem, disk int64) map[string]any {
		return map[string]any{"resource": map[string]any{"host": host, "project": project, "cpu": cpu, "memory_mb": mem, "disk_gb": disk}}
	}
	out := []map[string]any{
		res("(total)", int64(n.VCPUs), n.MemoryMB, n.LocalGB),
		res("(used_now)", int64(n.VCPUsUsed), n.MemoryMBUsed, n.LocalGBUsed),
	}
	type sum struct{ cpu, mem, disk int64 }
	var total sum
	byProject := map[string]*sum{}
	var order []string
	for _, in := range insts {
		total.cpu, total.mem, total.disk = total.cpu+int64(in.VCPUs), total.mem+in.MemoryMB, total.disk+in.RootGB
		p := byProject[in.ProjectID]
		if p == nil {
			p = &sum{}
			byProject[in.ProjectID] = p
			order = append(order, in.ProjectID)
		}
		p.cpu, p.mem, p.disk = p.cpu+int64(in.VCPUs), p.mem+in.MemoryMB, p.disk+in.RootGB
	}
	out = append(out, res("(used_max)", total.cpu, total.mem, total.disk))
	for _, p := range order {
		s := byProject[p]
		out = append(out, res(p, s.cpu, s.mem, s.disk))
	}
	writeJSON(w, http.StatusOK, map[string]any{"host": out})
	return nil
}

// notSupported is nova's answer where the virt driver has no host
// control (libvirt's, and gonova's computes): 501.
var notSupported = fault.New(http.StatusNotImplemented, "The requested functionality is not supported.")

// updateHost is PUT /os-hosts/{id} (2.1-2.42): the body validated as
// nova's, the host looked up, then 501: gonova's computes, as libvirt's,
// do not enable hosts or set maintenance mode from here (os-services
// does the former).
func (h *handlers) updateHost(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err == nil {
		err = checkHostUpdate(body)
	}
	if err == nil {
		err = h.enf.AuthorizeTarget(r.Context(), polHostsUpdate, policy.Target{})
	}
	if err == nil && !hasKey(body, "status") && !hasKey(body, "maintenance_mode") {
		// nova answers the host name alone, without looking it up.
		writeJSON(w, http.StatusOK, map[string]any{"host": chi.URLParam(r, "id")})
		return
	}
	if err == nil {
		if _, err = h.hostNodes(r, chi.URLParam(r, "id")); err == nil {
			err = notSupported
		}
	}
	fault.Write(w, r, err)
}

// checkHostUpdate is nova's hosts update schema.
func checkHostUpdate(body map[string]any) error {
	enum := stringRule{enum: []string{"enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"}}
	for _, k := range []string{"status", "maintenance_mode"} {
		if raw, ok := body[k]; ok {
			if _, err := enum.check(k, raw); err != nil {
				return err
			}
		}
	}
	if err := checkKeys("", body, nil, "status", "maintenance_mode"); err != nil {
		return err
	}
	// nova's schema nests its anyOf under properties, where it checks
	// nothing: a body with neither key is valid, and changes nothing.
	return nil
}

// hostPowerAction is GET /os-hosts/{id}/{reboot,shutdown,startup}
// (2.1-2.42): the host looked up, then 501 as with libvirt.
func (h *handlers) hostPowerAction(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.hostNodes(r, chi.URLParam(r, "id")); err != nil {
		return err
	}
	return notSupported
}
