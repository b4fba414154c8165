package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// os-quota-class-sets, as nova's QuotaClassSetsController: a class's
// limits over the defaults; the class "default" replaces [quota]'s
// defaults for every project. Before 2.50 the bodies leave out the server
// group quotas and keep nova-network's; 2.50 drops nova-network's, 2.57
// the injected files'.

const (
	polQuotaClassShow   = "os_compute_api:os-quota-class-sets:show"
	polQuotaClassUpdate = "os_compute_api:os-quota-class-sets:update"
)

// shownClassQuotas are the resources os-quota-class-sets shows at v.
func shownClassQuotas(v microversion.Version) []string {
	var out []string
	for _, r := range computedb.QuotaResources {
		switch {
		case !v.AtLeast(2, 50) && (r == computedb.ResServerGroups || r == computedb.ResServerGroupMembers):
		case v.AtLeast(2, 50) && slices.Contains(networkQuotas, r):
		case v.AtLeast(2, 57) && slices.Contains(injectedQuotas, r):
		default:
			out = append(out, r)
		}
	}
	return out
}

func quotaClassView(v microversion.Version, id *string, values computedb.QuotaLimits) map[string]any {
	out := map[string]any{}
	if id != nil {
		out["id"] = *id
	}
	for _, r := range shownClassQuotas(v) {
		if val, ok := values[r]; ok {
			out[r] = val
		}
	}
	return map[string]any{"quota_class_set": out}
}

// showQuotaClass is GET /os-quota-class-sets/{id}.
func (h *handlers) showQuotaClass(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := h.enf.AuthorizeTarget(r.Context(), polQuotaClassShow, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	values, err := h.quotas.ClassLimits(r.Context(), id)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, quotaClassView(microversion.FromContext(r.Context()), &id, values))
}

// updateQuotaClass is PUT /os-quota-class-sets/{id}: the schema (nova's
// update, update_v250, update_v257), the policy, then the values stored.
func (h *handlers) updateQuotaClass(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	id := chi.URLParam(r, "id")
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	values, err := parseQuotaClassUpdate(body, v)
	if err == nil {
		err = h.enf.AuthorizeTarget(ctx, polQuotaClassUpdate, policy.Target{})
	}
	if n := len([]rune(id)); err == nil && n > 255 {
		// oslo's check_string_length, as nova words it.
		err = fault.BadRequest(fmt.Sprintf("quota_class_name has %d characters, more than 255.", n))
	}
	if err == nil {
		err = h.quotas.SetClass(ctx, id, values)
	}
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	out, err := h.quotas.ClassLimits(ctx, id)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, quotaClassView(v, nil, out))
}

// parseQuotaClassUpdate validates {"quota_class_set": {...}}: every
// resource of nova's quota_resources at v (and "networks" before 2.50,
// accepted and not stored: it is no resource any more).
func parseQuotaClassUpdate(body map[string]any, v microversion.Version) (computedb.QuotaLimits, error) {
	if err := checkKeys("", body, []string{"quota_class_set"}); err != nil {
		return nil, err
	}
	qs, err := checkObject("quota_class_set", body["quota_class_set"])
	if err != nil {
		return nil, err
	}
	allowed := slices.Clone(computedb.QuotaResources)
	if v.AtLeast(2, 50) {
		allowed = slices.DeleteFunc(allowed, func(r string) bool { return slices.Contains(networkQuotas, r) })
	} else {
		allowed = append(allowed, "networks")
	}
	if v.AtLeast(2, 57) {
		allowed = slices.DeleteFunc(allowed, func(r string) bool { return slices.Contains(injectedQuotas, r) })
	}
	if err := checkKeys("quota_class_set", qs, nil, allowed...); err != nil {
		return nil, err
	}
	out := computedb.QuotaLimits{}
	for k, raw := range qs {
		n, err := checkQuotaValue(k, raw)
		if err != nil {
			return nil, err
		}
		if k != "networks" {
			out[k] = n
		}
	}
	return out, nil
}
