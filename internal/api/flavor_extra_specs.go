package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// checkSpecsObject is nova's flavors_extraspecs metadata schema: an object
// whose keys match ^[a-zA-Z0-9-_:. ]{1,255}$ and whose values are strings of
// at most 255 characters or numbers (kept as Python's str() of them, at
// most 255 characters too). name "" is the body itself.
func checkSpecsObject(name string, v any) (map[string]string, error) {
	m, err := checkObject(name, v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	var extra []string
	for k, val := range m {
		if !metadataKeyPattern.MatchString(k) {
			extra = append(extra, k)
			continue
		}
		switch x := val.(type) {
		case string:
			s, err := (stringRule{max: 255}).check(k, x)
			if err != nil {
				return nil, err
			}
			out[k] = s
		case float64:
			s := wsgi.PyRepr(x)
			if len(s) > 255 {
				return nil, fault.BadRequest("Invalid input received: extra_specs value has more than 255 characters.")
			}
			out[k] = s
		default:
			return nil, invalidField(k, val, fmt.Sprintf("%s is not of type 'string', 'number'", wsgi.PyRepr(val)))
		}
	}
	if len(extra) > 0 {
		return nil, checkKeys(name, m, nil, keysOf(out)...)
	}
	return out, nil
}

// checkSpecValues is nova's _check_extra_specs_value: from 2.86 every spec
// of a namespace nova knows must be valid.
func checkSpecValues(r *http.Request, specs map[string]string) error {
	if !microversion.FromContext(r.Context()).AtLeast(2, 86) {
		return nil
	}
	names := make([]string, 0, len(specs))
	for k := range specs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if msg := validateExtraSpec(k, specs[k]); msg != "" {
			return fault.BadRequest(msg)
		}
	}
	return nil
}

// listExtraSpecs is GET /flavors/{flavor_id}/os-extra_specs.
func (h *handlers) listExtraSpecs(w http.ResponseWriter, r *http.Request) {
	if err := h.enf.AuthorizeTarget(r.Context(), polFlavorSpecsIndex, projectTarget(r)); err != nil {
		fault.Write(w, r, err)
		return
	}
	f, err := h.getFlavor(r, chi.URLParam(r, "flavor_id"))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"extra_specs": f.ExtraSpecs})
}

// projectTarget is {"project_id": the caller's project}, nova's target of
// the extra specs reads.
func projectTarget(r *http.Request) policy.Target {
	c := caller(r)
	if c == nil {
		return nil
	}
	return policy.Target{"project_id": c.ProjectID}
}

// showExtraSpec is GET /flavors/{flavor_id}/os-extra_specs/{id}.
func (h *handlers) showExtraSpec(w http.ResponseWriter, r *http.Request) {
	if err := h.enf.AuthorizeTarget(r.Context(), polFlavorSpecsShow, projectTarget(r)); err != nil {
		fault.Write(w, r, err)
		return
	}
	id, key := chi.URLParam(r, "flavor_id"), chi.URLParam(r, "id")
	f, err := h.getFlavor(r, id)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	v, ok := f.ExtraSpecs[key]
	if !ok {
		fault.Write(w, r, fault.NotFound(fmt.Sprintf("Flavor %s has no extra specs with key %s.", id, key)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: v})
}

// createExtraSpecs is POST /flavors/{flavor_id}/os-extra_specs: the specs
// are merged into the flavor's; the answer repeats the body.
func (h *handlers) createExtraSpecs(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := checkKeys("", body, []string{"extra_specs"}); err != nil {
		fault.Write(w, r, err)
		return
	}
	specs, err := checkSpecsObject("extra_specs", body["extra_specs"])
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	h.writeSpecs(w, r, polFlavorSpecsCreate, specs, body)
}

// updateExtraSpec is PUT /flavors/{flavor_id}/os-extra_specs/{id}: a body
// of that one key.
func (h *handlers) updateExtraSpec(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	specs, err := checkSpecsObject("", body)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	switch {
	case len(body) < 1:
		fault.Write(w, r, fault.BadRequest("{} does not have enough properties"))
		return
	case len(body) > 1:
		fault.Write(w, r, fault.BadRequest(fmt.Sprintf("%s has too many properties", wsgi.PyRepr(body))))
		return
	}
	h.writeSpecs(w, r, polFlavorSpecsUpdate, specs, body)
}

// writeSpecs is the rest of create and update, in nova's order: policy,
// values (2.86), the URI's key (update), the flavor, the write.
func (h *handlers) writeSpecs(w http.ResponseWriter, r *http.Request, action string, specs map[string]string, body map[string]any) {
	ctx := r.Context()
	if err := h.enf.AuthorizeTarget(ctx, action, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := checkSpecValues(r, specs); err != nil {
		fault.Write(w, r, err)
		return
	}
	if action == polFlavorSpecsUpdate {
		if _, ok := specs[chi.URLParam(r, "id")]; !ok {
			fault.Write(w, r, fault.BadRequest("Request body and URI mismatch"))
			return
		}
	}
	id := chi.URLParam(r, "flavor_id")
	if _, err := h.getFlavor(r, id); err != nil {
		fault.Write(w, r, err)
		return
	}
	_, err := h.compute.SetFlavorExtraSpecs(ctx, id, specs)
	if errors.Is(err, computedb.ErrNotFound) {
		err = fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id))
	}
	if err != nil {
		fault.Write(w, r, serverFault(err, ""))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// deleteExtraSpec is DELETE /flavors/{flavor_id}/os-extra_specs/{id}: 200
// without a body, as nova.
func (h *handlers) deleteExtraSpec(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.enf.AuthorizeTarget(ctx, polFlavorSpecsDelete, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	id, key := chi.URLParam(r, "flavor_id"), chi.URLParam(r, "id")
	if _, err := h.getFlavor(r, id); err != nil {
		fault.Write(w, r, err)
		return
	}
	err := h.compute.DeleteFlavorExtraSpec(ctx, id, key)
	switch {
	case errors.Is(err, computedb.ErrExtraSpecNotFound):
		err = fault.NotFound(fmt.Sprintf("Flavor %s has no extra specs with key %s.", id, key))
	case errors.Is(err, computedb.ErrNotFound):
		err = fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
