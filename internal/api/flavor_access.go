package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// flavorAccessView is nova's _marshall_flavor_access.
func flavorAccessView(flavorID string, projects []string) map[string]any {
	out := make([]map[string]string, len(projects))
	for i, p := range projects {
		out[i] = map[string]string{"flavor_id": flavorID, "tenant_id": p}
	}
	return map[string]any{"flavor_access": out}
}

// listFlavorAccess is GET /flavors/{flavor_id}/os-flavor-access: the
// projects of a private flavor (a public one has no list: 404).
func (h *handlers) listFlavorAccess(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.enf.AuthorizeTarget(ctx, polFlavorAccess, nil); err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "flavor_id")
	f, err := h.getFlavor(r, id)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if f.IsPublic {
		fault.Write(w, r, fault.NotFound("Access list not available for public flavors."))
		return
	}
	projects, err := h.compute.FlavorProjects(ctx, id)
	if err != nil {
		fault.Write(w, r, flavorGone(err, id))
		return
	}
	writeJSON(w, http.StatusOK, flavorAccessView(f.FlavorID, projects))
}

func flavorGone(err error, id string) error {
	if errors.Is(err, computedb.ErrNotFound) {
		return fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id))
	}
	return err
}

// flavorAction is POST /flavors/{id}/action: addTenantAccess and
// removeTenantAccess.
func (h *handlers) flavorAction(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	action := ""
	for _, k := range []string{"addTenantAccess", "removeTenantAccess"} {
		if _, ok := body[k]; ok {
			action = k
		}
	}
	if action == "" {
		for k := range body {
			fault.Write(w, r, fault.BadRequest("There is no such action: "+k))
			return
		}
		fault.Write(w, r, fault.BadRequest("Malformed request body"))
		return
	}
	if err := checkKeys("", body, []string{action}); err != nil {
		fault.Write(w, r, err)
		return
	}
	a, err := checkObject(action, body[action])
	if err == nil {
		err = checkKeys(action, a, []string{"tenant"})
	}
	var tenant string
	if err == nil {
		tenant, err = (stringRule{min: 1, max: 255}).check("tenant", a["tenant"])
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	pol := polFlavorAccessAdd
	if action == "removeTenantAccess" {
		pol = polFlavorAccessRemove
	}
	ctx := r.Context()
	if err := h.enf.AuthorizeTarget(ctx, pol, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	f, err := h.getFlavor(r, id)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if action == "addTenantAccess" {
		if f.IsPublic && microversion.FromContext(ctx).AtLeast(2, 7) {
			fault.Write(w, r, fault.Conflict("Can not add access to a public flavor."))
			return
		}
		err = h.compute.AddFlavorProject(ctx, id, tenant)
		if errors.Is(err, computedb.ErrConflict) {
			err = fault.Conflict(fmt.Sprintf("Flavor access already exists for flavor %d and project %s combination.", f.ID, tenant))
		}
	} else {
		err = h.compute.RemoveFlavorProject(ctx, id, tenant)
		if errors.Is(err, computedb.ErrFlavorAccessNotFound) {
			err = fault.NotFound(fmt.Sprintf("Flavor access not found for %d / %s combination.", f.ID, tenant))
		}
	}
	if err != nil {
		fault.Write(w, r, serverFault(flavorGone(err, id), ""))
		return
	}
	projects, err := h.compute.FlavorProjects(ctx, id)
	if err != nil {
		fault.Write(w, r, flavorGone(err, id))
		return
	}
	writeJSON(w, http.StatusOK, flavorAccessView(f.FlavorID, projects))
}
