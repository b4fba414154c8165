package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// apiBinaries are the services os-services hides: they do not heartbeat,
// so they would always show as down (nova bug 1543625).
var apiBinaries = []string{registry.BinaryAPI, "nova-metadata"}

// serviceView is one os-services item. ID is an int64 before 2.53 and the
// uuid from 2.53; ForcedDown is shown from 2.11.
type serviceView struct {
	ID             any     `json:"id"`
	Binary         string  `json:"binary"`
	Host           string  `json:"host"`
	Zone           string  `json:"zone"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	UpdatedAt      *string `json:"updated_at"`
	DisabledReason *string `json:"disabled_reason"`
	ForcedDown     *bool   `json:"forced_down,omitempty"`
}

func (h *handlers) serviceDetail(svc registry.Service, now time.Time, v microversion.Version, forcedDown bool, zones zoneMap) serviceView {
	sv := serviceView{ID: svc.ID, Binary: svc.Binary, Host: svc.Host, Zone: zones.service(svc),
		Status: "enabled", State: "down"}
	if v.AtLeast(2, 53) {
		sv.ID = svc.UUID
	}
	if svc.Disabled {
		sv.Status = "disabled"
	}
	if servicegroup.IsUp(svc, now, h.downTime) {
		sv.State = "up"
	}
	if svc.UpdatedAt != nil {
		s := svc.UpdatedAt.UTC().Format(novaTimeLayout)
		sv.UpdatedAt = &s
	}
	if svc.DisabledReason != "" {
		r := svc.DisabledReason
		sv.DisabledReason = &r
	}
	if forcedDown {
		fd := svc.ForcedDown
		sv.ForcedDown = &fd
	}
	return sv
}

// listServices is GET /os-services.
func (h *handlers) listServices(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	q := r.URL.Query()
	if v.AtLeast(2, 75) {
		var extra []string
		for k := range q {
			if k != "host" && k != "binary" {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			fault.Write(w, r, fault.BadRequest(fmt.Sprintf("Additional properties are not allowed (%s was unexpected)", wsgi.PyRepr(extra[0]))))
			return
		}
	}
	f := registry.Filter{Host: lastValue(q["host"]), Binary: lastValue(q["binary"])}
	if f.Validate() != nil {
		// A host or binary longer than the column: no row holds it, so
		// nothing matches, as in nova (whose schema sets no length).
		// Values no store can compare (not UTF-8, NUL) are refused 400 by
		// the router's middleware.Inputs before this.
		writeJSON(w, http.StatusOK, map[string]any{"services": []serviceView{}})
		return
	}
	rows, now, err := h.services.List(ctx, f)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	zones, err := h.zones(ctx)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	out := make([]serviceView, 0, len(rows))
	for _, svc := range rows {
		if slices.Contains(apiBinaries, svc.Binary) {
			continue
		}
		out = append(out, h.serviceDetail(svc, now, v, v.AtLeast(2, 11), zones))
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
}

// notUpdatable is nova's refusal to update a service other than a compute.
func notUpdatable(binary string) error {
	return fault.BadRequest(fmt.Sprintf("Updating a %s service is not supported. Only %s services can be updated.", binary, registry.BinaryCompute))
}

// lastValue is webob's MultiDict lookup: the last value given.
func lastValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// updateService is PUT /os-services/{id}: an action before 2.53, a uuid from.
func (h *handlers) updateService(w http.ResponseWriter, r *http.Request) {
	v := microversion.FromContext(r.Context())
	var err error
	if v.AtLeast(2, 53) {
		err = h.updateServiceV253(w, r, chi.URLParam(r, "id"))
	} else {
		err = h.updateServiceV21(w, r, chi.URLParam(r, "id"), v)
	}
	if err != nil {
		fault.Write(w, r, err)
	}
}

// serviceUpdateV21 is a validated pre-2.53 update body.
type serviceUpdateV21 struct {
	host, binary  string
	reason        *string
	forcedDown    *bool
	forcedDownSet bool
}

// parseServiceUpdateV21 validates the body as nova's update (and
// update_v211) schemas do.
func parseServiceUpdateV21(body map[string]any, v microversion.Version) (serviceUpdateV21, error) {
	var u serviceUpdateV21
	allowed := []string{"disabled_reason"}
	if v.AtLeast(2, 11) {
		allowed = append(allowed, "forced_down")
	}
	if err := checkKeys("", body, []string{"host", "binary"}, allowed...); err != nil {
		return u, err
	}
	var err error
	if u.host, err = fqdnRule.check("host", body["host"]); err != nil {
		return u, err
	}
	if u.binary, err = shortRule.check("binary", body["binary"]); err != nil {
		return u, err
	}
	if raw, ok := body["disabled_reason"]; ok {
		s, err := shortRule.check("disabled_reason", raw)
		if err != nil {
			return u, err
		}
		u.reason = &s
	}
	if raw, ok := body["forced_down"]; ok {
		b, err := checkBoolean("forced_down", raw)
		if err != nil {
			return u, err
		}
		u.forcedDown, u.forcedDownSet = &b, true
	}
	return u, nil
}

func (h *handlers) updateServiceV21(w http.ResponseWriter, r *http.Request, action string, v microversion.Version) error {
	ctx := r.Context()
	body, err := h.decodeObject(r)
	if err != nil {
		return err
	}
	u, err := parseServiceUpdateV21(body, v)
	if err != nil {
		return err
	}
	resp := map[string]any{"host": u.host, "binary": u.binary}
	var upd registry.Update
	t, f, none := true, false, ""
	switch {
	case action == "enable":
		upd = registry.Update{Disabled: &f, DisabledReason: &none}
		resp["status"] = "enabled"
	case action == "disable":
		upd = registry.Update{Disabled: &t, DisabledReason: &none}
		resp["status"] = "disabled"
	case action == "disable-log-reason":
		if u.reason == nil {
			return fault.BadRequest("Missing disabled reason field")
		}
		upd = registry.Update{Disabled: &t, DisabledReason: u.reason}
		resp["status"] = "disabled"
		resp["disabled_reason"] = *u.reason
	case action == "force-down" && v.AtLeast(2, 11):
		if !u.forcedDownSet {
			return fault.BadRequest("Missing forced_down field")
		}
		upd = registry.Update{ForcedDown: u.forcedDown}
		resp["forced_down"] = *u.forcedDown
	default:
		return fault.NotFound("Unknown action")
	}
	if u.binary != registry.BinaryCompute {
		return notUpdatable(u.binary)
	}
	svc, err := h.services.GetByHostBinary(ctx, u.host, u.binary)
	if errors.Is(err, registry.ErrNotFound) {
		return fault.NotFound(fmt.Sprintf("Could not find binary %s on host %s.", u.binary, u.host))
	}
	if err != nil {
		return err
	}
	if _, err := h.services.Update(ctx, svc.ID, upd); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return fault.NotFound(fmt.Sprintf("Could not find binary %s on host %s.", u.binary, u.host))
		}
		return err
	}
	h.log.InfoContext(ctx, "service updated", "action", action, "host", u.host, "binary", u.binary, "service_id", svc.ID)
	writeJSON(w, http.StatusOK, map[string]any{"service": resp})
	return nil
}

// parseServiceUpdateV253 validates the 2.53 body (update_v253 schema) and
// turns it into a registry update; nova's in-code rules included.
func parseServiceUpdateV253(body map[string]any) (registry.Update, error) {
	var upd registry.Update
	if err := checkKeys("", body, nil, "status", "disabled_reason", "forced_down"); err != nil {
		return upd, err
	}
	var status, reason string
	var err error
	_, hasStatus := body["status"]
	if hasStatus {
		if status, err = (stringRule{enum: []string{"enabled", "disabled"}}).check("status", body["status"]); err != nil {
			return upd, err
		}
	}
	if raw, ok := body["disabled_reason"]; ok {
		if reason, err = shortRule.check("disabled_reason", raw); err != nil {
			return upd, err
		}
	}
	if raw, ok := body["forced_down"]; ok {
		b, err := checkBoolean("forced_down", raw)
		if err != nil {
			return upd, err
		}
		upd.ForcedDown = &b
	}
	switch status {
	case "enabled":
		if reason != "" {
			return upd, fault.BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
		}
		f, none := false, ""
		upd.Disabled, upd.DisabledReason = &f, &none
	case "disabled":
		t := true
		upd.Disabled, upd.DisabledReason = &t, &reason
	}
	if upd.IsEmpty() {
		return upd, fault.BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	}
	return upd, nil
}

func (h *handlers) updateServiceV253(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	canon, ok := uuidLike(id)
	if !ok {
		return fault.BadRequest("Invalid uuid " + id)
	}
	svc, err := h.serviceByUUID(ctx, canon, id)
	if err != nil {
		return err
	}
	if svc.Binary != registry.BinaryCompute {
		return notUpdatable(svc.Binary)
	}
	body, err := h.decodeObject(r)
	if err != nil {
		return err
	}
	upd, err := parseServiceUpdateV253(body)
	if err != nil {
		return err
	}
	svc, err = h.services.Update(ctx, svc.ID, upd)
	if errors.Is(err, registry.ErrNotFound) {
		return fault.NotFound(fmt.Sprintf("Service %s could not be found.", id))
	}
	if err != nil {
		return err
	}
	now, err := h.services.Now(ctx)
	if err != nil {
		return err
	}
	zones, err := h.zones(ctx)
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "service updated", "service_uuid", svc.UUID, "host", svc.Host, "binary", svc.Binary,
		"disabled", svc.Disabled, "forced_down", svc.ForcedDown)
	writeJSON(w, http.StatusOK, map[string]any{"service": h.serviceDetail(svc, now, microversion.FromContext(ctx), true, zones)})
	return nil
}

// serviceByUUID returns the live service with the uuid canon, or nova's
// 404 naming id, the uuid as the request spelled it.
func (h *handlers) serviceByUUID(ctx context.Context, canon, id string) (registry.Service, error) {
	svc, err := h.services.GetByUUID(ctx, canon)
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) || err == nil && svc.IsDeleted() {
		return registry.Service{}, fault.NotFound(fmt.Sprintf("Service %s could not be found.", id))
	}
	return svc, err
}

// deleteService is DELETE /os-services/{id}.
func (h *handlers) deleteService(w http.ResponseWriter, r *http.Request) {
	if err := h.deleteServiceErr(r); err != nil {
		fault.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) deleteServiceErr(r *http.Request) error {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	notFound := fault.NotFound(fmt.Sprintf("Service %s not found.", id))
	var svc registry.Service
	var err error
	if microversion.FromContext(ctx).AtLeast(2, 53) {
		canon, ok := uuidLike(id)
		if !ok {
			return fault.BadRequest("Invalid uuid " + id)
		}
		svc, err = h.services.GetByUUID(ctx, canon)
	} else {
		n, perr := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if perr != nil {
			if errors.Is(perr, strconv.ErrRange) {
				return notFound
			}
			return fault.BadRequest("Invalid input received: id must be an integer")
		}
		svc, err = h.services.Get(ctx, n)
	}
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) || err == nil && svc.IsDeleted() {
		return notFound
	}
	if err != nil {
		return err
	}
	if svc.Binary == registry.BinaryCompute {
		n, err := h.compute.CountInstancesByHost(ctx, svc.Host)
		if err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict("Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
		}
	}
	if err := h.services.Delete(ctx, svc.ID); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return notFound
		}
		return err
	}
	if svc.Binary == registry.BinaryCompute {
		// nova deletes the compute nodes of a deleted compute service too.
		if n, err := h.compute.DeleteNodesByHost(ctx, svc.Host); err != nil {
			h.log.ErrorContext(ctx, "deleting the compute nodes of a deleted service", "host", svc.Host, "error", err)
		} else if n > 0 {
			h.log.InfoContext(ctx, "compute nodes deleted with their service", "host", svc.Host, "nodes", n)
		}
	}
	h.log.InfoContext(ctx, "service deleted", "service_id", svc.ID, "service_uuid", svc.UUID, "host", svc.Host, "binary", svc.Binary)
	return nil
}
