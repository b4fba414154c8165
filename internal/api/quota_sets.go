package api

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/quota"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// os-quota-sets, as nova's QuotaSetsController with the DbQuotaDriver.
// gonova does not ask Keystone whether the project id names a project
// (nova's verify_project_id): with noauth2 there is no Keystone to ask, and
// nova itself lets the id through when Keystone cannot say.

const (
	polQuotaShow     = "os_compute_api:os-quota-sets:show"
	polQuotaUpdate   = "os_compute_api:os-quota-sets:update"
	polQuotaDefaults = "os_compute_api:os-quota-sets:defaults"
	polQuotaDelete   = "os_compute_api:os-quota-sets:delete"
	polQuotaDetail   = "os_compute_api:os-quota-sets:detail"
)

// networkQuotas are nova-network's, dropped from the bodies at 2.36.
var networkQuotas = []string{computedb.ResFixedIPs, computedb.ResFloatingIPs, computedb.ResSecurityGroups, computedb.ResSecurityGroupRules}

// injectedQuotas are the personality quotas, dropped at 2.57.
var injectedQuotas = []string{computedb.ResInjectedFiles, computedb.ResInjectedFileContentBytes, computedb.ResInjectedFilePathBytes}

// shownQuotas are the resources os-quota-sets shows at v (nova's
// FILTERED_QUOTAS_2_36 and _2_57 removed).
func shownQuotas(v microversion.Version) []string {
	var out []string
	for _, r := range computedb.QuotaResources {
		if v.AtLeast(2, 36) && slices.Contains(networkQuotas, r) || v.AtLeast(2, 57) && slices.Contains(injectedQuotas, r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// quotaSetView is nova's _format_quota_set: id (when given) and each shown
// resource's value.
func quotaSetView[T any](v microversion.Version, id *string, values map[string]T) map[string]any {
	out := map[string]any{}
	if id != nil {
		out["id"] = *id
	}
	for _, r := range shownQuotas(v) {
		if val, ok := values[r]; ok {
			out[r] = val
		}
	}
	return map[string]any{"quota_set": out}
}

// quotaTarget is the target nova checks os-quota-sets against.
func quotaTarget(project string) policy.Target { return policy.Target{"project_id": project} }

// quotaUser is the user_id query parameter (the last value), checked as
// nova's query schema does.
func quotaUser(r *http.Request) (string, error) {
	if err := checkQueryKeysFrom275(r, "user_id"); err != nil {
		return "", err
	}
	vals := r.URL.Query()["user_id"]
	if len(vals) == 0 {
		return "", nil
	}
	return vals[len(vals)-1], nil
}

// showQuotaSet is GET /os-quota-sets/{id} (?user_id=).
func (h *handlers) showQuotaSet(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	user, err := quotaUser(r)
	if err == nil {
		err = h.enf.AuthorizeTarget(r.Context(), polQuotaShow, quotaTarget(id))
	}
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	limits, err := h.quotas.Limits(r.Context(), id, user)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, quotaSetView(microversion.FromContext(r.Context()), &id, limits))
}

// quotaSetDetail is GET /os-quota-sets/{id}/detail: limit, in_use and
// reserved of each resource.
func (h *handlers) quotaSetDetail(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	user, err := quotaUser(r)
	if err == nil {
		err = h.enf.AuthorizeTarget(r.Context(), polQuotaDetail, quotaTarget(id))
	}
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	det, err := h.quotas.Details(r.Context(), id, user)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, quotaSetView(microversion.FromContext(r.Context()), &id, det))
}

// quotaSetDefaults is GET /os-quota-sets/{id}/defaults: [quota]'s limits.
// nova validates no query here.
func (h *handlers) quotaSetDefaults(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := h.enf.AuthorizeTarget(r.Context(), polQuotaDefaults, quotaTarget(id)); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	def, err := h.quotas.DefaultLimits(r.Context())
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, quotaSetView(microversion.FromContext(r.Context()), &id, def))
}

// deleteQuotaSet is DELETE /os-quota-sets/{id} (?user_id=): back to the
// defaults, answered 202 as nova does.
func (h *handlers) deleteQuotaSet(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	user, err := quotaUser(r)
	if err == nil {
		err = h.enf.AuthorizeTarget(r.Context(), polQuotaDelete, quotaTarget(id))
	}
	if err == nil {
		err = h.quotas.Delete(r.Context(), id, user)
	}
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// quotaFault maps a value the store refused (an id too long to be one) to
// nova's 400.
func quotaFault(err error) error {
	return serverFault(err, "")
}

// parseQuotaUpdate validates PUT /os-quota-sets/{id} as nova's update,
// update_v236 and update_v257 schemas do: the values to set and force.
func parseQuotaUpdate(body map[string]any, v microversion.Version) (computedb.QuotaLimits, bool, error) {
	if err := checkKeys("", body, []string{"quota_set"}); err != nil {
		return nil, false, err
	}
	qs, err := checkObject("quota_set", body["quota_set"])
	if err != nil {
		return nil, false, err
	}
	allowed := append(shownQuotas(v), "force")
	if !v.AtLeast(2, 36) {
		allowed = append(allowed, "networks")
	}
	if err := checkKeys("quota_set", qs, nil, allowed...); err != nil {
		return nil, false, err
	}
	force := false
	if raw, ok := qs["force"]; ok {
		if force, err = checkBoolean("force", raw); err != nil {
			return nil, false, err
		}
	}
	values := computedb.QuotaLimits{}
	for k, raw := range qs {
		if k == "force" {
			continue
		}
		n, err := checkQuotaValue(k, raw)
		if err != nil {
			return nil, false, err
		}
		values[k] = n
	}
	if _, ok := values["networks"]; ok {
		return nil, false, fault.BadRequest("The networks quota has been removed")
	}
	return values, force, nil
}

// checkQuotaValue is nova's common_quota: an integer, or a string of one,
// between -1 and 0x7FFFFFFF.
func checkQuotaValue(name string, v any) (int, error) {
	var n float64
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return 0, invalidField(name, v, fmt.Sprintf("%s is not of type 'integer', 'string'", wsgi.PyRepr(v)))
		}
		n = x
	case string:
		if !integerPatterns[signedPattern].MatchString(x) || x == "" {
			return 0, invalidField(name, v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(x), wsgi.PyRepr(signedPattern)))
		}
		p, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, invalidField(name, v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(x), wsgi.PyRepr(signedPattern)))
		}
		n = p
	default:
		return 0, invalidField(name, v, fmt.Sprintf("%s is not of type 'integer', 'string'", wsgi.PyRepr(v)))
	}
	switch {
	case n < -1:
		return 0, invalidField(name, v, fmt.Sprintf("%s is less than the minimum of -1", wsgi.PyRepr(v)))
	case n > math.MaxInt32:
		return 0, invalidField(name, v, fmt.Sprintf("%s is greater than the maximum of 2147483647", wsgi.PyRepr(v)))
	}
	return int(n), nil
}

// updateQuotaSet is PUT /os-quota-sets/{id} (?user_id=): nova's update.
// Unless force, a value below what is in use (or, for a user, above what
// the project leaves) is a 400 and nothing is written.
func (h *handlers) updateQuotaSet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	v := microversion.FromContext(ctx)
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	values, force, err := parseQuotaUpdate(body, v)
	var user string
	if err == nil {
		user, err = quotaUser(r)
	}
	if err == nil {
		err = h.enf.AuthorizeTarget(ctx, polQuotaUpdate, quotaTarget(id))
	}
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	if !force {
		settable, err := h.quotas.Settable(ctx, id, user)
		if err != nil {
			fault.Write(w, r, quotaFault(err))
			return
		}
		for _, k := range sortedKeys(values) {
			if err := checkQuotaRange(k, int64(values[k]), settable[k]); err != nil {
				fault.Write(w, r, quotaFault(err))
				return
			}
		}
	}
	if err := h.quotas.Set(ctx, id, user, values); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	limits, err := h.quotas.Limits(ctx, id, user)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, quotaSetView(v, nil, limits))
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkQuotaRange is nova's _validate_quota_limit (-1 is infinite).
func checkQuotaRange(resource string, limit int64, rng quota.Range) error {
	inf := func(n int64) float64 {
		if n == -1 {
			return math.Inf(1)
		}
		return float64(n)
	}
	if inf(limit) < inf(rng.Minimum) {
		return fault.BadRequest(fmt.Sprintf("Quota limit %d for %s must be greater than or equal to already used and reserved %d.",
			limit, resource, rng.Minimum))
	}
	if inf(limit) > inf(rng.Maximum) {
		return fault.BadRequest(fmt.Sprintf("Quota limit %d for %s must be less than or equal to %d.", limit, resource, rng.Maximum))
	}
	return nil
}
