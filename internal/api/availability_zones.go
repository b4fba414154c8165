package api

import (
	"net/http"
	"slices"

	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// nova's os-availability-zone policies, checked on the empty target.
const (
	polAZList   = "os_compute_api:os-availability-zone:list"
	polAZDetail = "os_compute_api:os-availability-zone:detail"
)

// zoneSplit is nova's get_availability_zones: the zones of the enabled
// services (available), and those of disabled services that no enabled
// one is in (not available), each sorted; with every service's zone.
func zoneSplit(svcs []registry.Service, zones zoneMap) (available, unavailable []string, zoneOf map[int64]string) {
	zoneOf = make(map[int64]string, len(svcs))
	for _, s := range svcs {
		z := zones.service(s)
		zoneOf[s.ID] = z
		if !s.Disabled && !slices.Contains(available, z) {
			available = append(available, z)
		}
	}
	for _, s := range svcs {
		if z := zoneOf[s.ID]; s.Disabled && !slices.Contains(available, z) && !slices.Contains(unavailable, z) {
			unavailable = append(unavailable, z)
		}
	}
	slices.Sort(available)
	slices.Sort(unavailable)
	return available, unavailable, zoneOf
}

// listAvailabilityZones is GET /os-availability-zone (detail false) and
// /os-availability-zone/detail (true), as nova's
// _describe_availability_zones[_verbose]: the summary hides
// internal_service_availability_zone; the detail shows each available
// zone's hosts and their services (API services left out).
func (h *handlers) listAvailabilityZones(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		svcs, now, err := h.services.List(ctx, registry.Filter{})
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		zones, err := h.zones(ctx)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		available, unavailable, zoneOf := zoneSplit(svcs, zones)
		out := []map[string]any{}
		for _, z := range available {
			if !detail && z == h.internalZone {
				continue
			}
			var hosts any
			if detail {
				hm := map[string]map[string]any{}
				for _, s := range svcs {
					if s.Disabled || zoneOf[s.ID] != z || slices.Contains(apiBinaries, s.Binary) {
						continue
					}
					if hm[s.Host] == nil {
						hm[s.Host] = map[string]any{}
					}
					hm[s.Host][s.Binary] = map[string]any{
						"available":  servicegroup.IsUp(s, now, h.downTime),
						"active":     !s.Disabled,
						"updated_at": nullTime(s.UpdatedAt, novaTimeLayout),
					}
				}
				hosts = hm
			}
			out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": true}, "hosts": hosts})
		}
		for _, z := range unavailable {
			if !detail && z == h.internalZone {
				continue
			}
			out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": false}, "hosts": nil})
		}
		writeJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	}
}
