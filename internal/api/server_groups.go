package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// os-server-groups, as nova's ServerGroupController: 2.13 adds project_id
// and user_id, 2.15 the soft policies, 2.64 one "policy" and "rules"
// (max_server_per_host) instead of the "policies" list and "metadata".

const (
	polSGCreate      = "os_compute_api:os-server-groups:create"
	polSGDelete      = "os_compute_api:os-server-groups:delete"
	polSGIndex       = "os_compute_api:os-server-groups:index"
	polSGIndexAll    = "os_compute_api:os-server-groups:index:all_projects"
	polSGShow        = "os_compute_api:os-server-groups:show"
	groupNotFoundFmt = "Instance group %s could not be found."
)

// serverGroupView is nova's _format_server_group.
func serverGroupView(v microversion.Version, g computedb.ServerGroup) map[string]any {
	out := map[string]any{"id": g.UUID, "name": g.Name, "members": g.Members}
	if g.Members == nil {
		out["members"] = []string{}
	}
	if v.AtLeast(2, 64) {
		rules := map[string]any{}
		if g.MaxServerPerHost > 0 {
			rules["max_server_per_host"] = g.MaxServerPerHost
		}
		out["policy"], out["rules"] = g.Policy, rules
	} else {
		out["policies"], out["metadata"] = []string{g.Policy}, map[string]any{}
	}
	if v.AtLeast(2, 13) {
		out["project_id"], out["user_id"] = g.ProjectID, g.UserID
	}
	return out
}

// parseServerGroupCreate validates POST /os-server-groups as nova's
// create, create_v215 and create_v264 schemas do.
func parseServerGroupCreate(body map[string]any, v microversion.Version) (computedb.ServerGroup, error) {
	var g computedb.ServerGroup
	if err := checkKeys("", body, []string{"server_group"}); err != nil {
		return g, err
	}
	sg, err := checkObject("server_group", body["server_group"])
	if err != nil {
		return g, err
	}
	enum := []string{computedb.PolicyAntiAffinity, computedb.PolicyAffinity}
	if v.AtLeast(2, 15) {
		enum = append(enum, computedb.PolicySoftAntiAffinity, computedb.PolicySoftAffinity)
	}
	if v.AtLeast(2, 64) {
		if err := checkKeys("server_group", sg, []string{"name", "policy"}, "rules"); err != nil {
			return g, err
		}
	} else if err := checkKeys("server_group", sg, []string{"name", "policies"}); err != nil {
		return g, err
	}
	if g.Name, err = checkName("name", sg["name"]); err != nil {
		return g, err
	}
	if !v.AtLeast(2, 64) {
		g.Policy, err = checkPolicies(sg["policies"], enum)
		return g, err
	}
	if g.Policy, err = (stringRule{enum: enum}).check("policy", sg["policy"]); err != nil {
		return g, err
	}
	if raw, ok := sg["rules"]; ok {
		rules, err := checkObject("rules", raw)
		if err != nil {
			return g, err
		}
		if err := checkKeys("rules", rules, nil, "max_server_per_host"); err != nil {
			return g, err
		}
		if m, ok := rules["max_server_per_host"]; ok {
			n, err := checkIntegerish("max_server_per_host", m, false, false, 1)
			if err != nil {
				return g, err
			}
			g.MaxServerPerHost = int(*n)
		}
		if g.Policy != computedb.PolicyAntiAffinity && len(rules) > 0 {
			return g, fault.BadRequest("Only anti-affinity policy supports rules.")
		}
	}
	return g, nil
}

// checkPolicies is the "policies" schema: a list of exactly one policy of
// enum, checked in jsonschema's keyword order (items, uniqueItems,
// minItems, maxItems).
func checkPolicies(v any, enum []string) (string, error) {
	list, ok := v.([]any)
	if !ok {
		return "", invalidField("policies", v, fmt.Sprintf("%s is not of type 'array'", wsgi.PyRepr(v)))
	}
	if len(list) > 0 {
		s, isStr := list[0].(string)
		if !isStr {
			return "", invalidField("0", list[0], fmt.Sprintf("%s is not of type 'string'", wsgi.PyRepr(list[0])))
		}
		if !slices.Contains(enum, s) {
			q := make([]string, len(enum))
			for i, e := range enum {
				q[i] = wsgi.PyRepr(e)
			}
			return "", invalidField("0", s, fmt.Sprintf("%s is not one of [%s]", wsgi.PyRepr(s), strings.Join(q, ", ")))
		}
	}
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			if wsgi.PyRepr(list[i]) == wsgi.PyRepr(list[j]) {
				return "", invalidField("policies", v, fmt.Sprintf("%s has non-unique elements", wsgi.PyRepr(v)))
			}
		}
	}
	switch {
	case len(list) == 0:
		return "", invalidField("policies", v, "[] is too short")
	case len(list) > 1:
		return "", invalidField("policies", v, fmt.Sprintf("%s is too long", wsgi.PyRepr(v)))
	}
	return list[0].(string), nil
}

// createServerGroup is POST /os-server-groups: schema, policy on the
// caller's project, then the group stored within the server_groups quota
// (checked in the store's transaction): 403 when over.
func (h *handlers) createServerGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	g, err := parseServerGroupCreate(body, v)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	c := caller(r)
	var target policy.Target
	if c != nil {
		target = policy.Target{"project_id": c.ProjectID}
		g.ProjectID, g.UserID = c.ProjectID, c.UserID
	}
	if err := h.enf.AuthorizeTarget(ctx, polSGCreate, target); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	out, err := h.compute.CreateServerGroup(ctx, g, h.quotas.Defaults())
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(v, out)})
}

// getServerGroup returns the group id names, or nova's 404, then checks
// action on its project.
func (h *handlers) getServerGroup(r *http.Request, action string) (computedb.ServerGroup, error) {
	id := chi.URLParam(r, "id")
	g, err := h.compute.GetServerGroup(r.Context(), id)
	if errors.Is(err, computedb.ErrNotFound) {
		return g, fault.NotFound(fmt.Sprintf(groupNotFoundFmt, id))
	}
	if err != nil {
		return g, err
	}
	return g, h.enf.AuthorizeTarget(r.Context(), action, policy.Target{"project_id": g.ProjectID})
}

// showServerGroup is GET /os-server-groups/{id}.
func (h *handlers) showServerGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.getServerGroup(r, polSGShow)
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(microversion.FromContext(r.Context()), g)})
}

// deleteServerGroup is DELETE /os-server-groups/{id}, answered 204.
func (h *handlers) deleteServerGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.getServerGroup(r, polSGDelete)
	if err == nil {
		if err = h.compute.DeleteServerGroup(r.Context(), g.UUID); errors.Is(err, computedb.ErrNotFound) {
			err = fault.NotFound(fmt.Sprintf(groupNotFoundFmt, chi.URLParam(r, "id")))
		}
	}
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listServerGroups is GET /os-server-groups: the caller's project's groups,
// every project's for an admin with all_projects; offset and limit as
// nova's common.limited.
func (h *handlers) listServerGroups(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := checkQueryKeysFrom275(r, "all_projects", "limit", "offset"); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	limit, hasLimit, err := queryNonNegative(r, "limit")
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	offset, _, err := queryNonNegative(r, "offset")
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	project := ""
	if c := caller(r); c != nil {
		project = c.ProjectID
	}
	target := policy.Target{"project_id": project}
	if err := h.enf.AuthorizeTarget(ctx, polSGIndex, target); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	all := false
	if _, ok := r.URL.Query()["all_projects"]; ok && h.isAdmin(r) {
		if err := h.enf.AuthorizeTarget(ctx, polSGIndexAll, target); err != nil {
			fault.Write(w, r, quotaFault(err))
			return
		}
		all = true
	}
	groups := []computedb.ServerGroup{}
	if all || project != "" { // a caller without a project owns no group
		scope := project
		if all {
			scope = ""
		}
		var err error
		if groups, err = h.compute.ListServerGroups(ctx, scope); err != nil {
			fault.Write(w, r, quotaFault(err))
			return
		}
	}
	max := int64(h.maxLimit)
	if hasLimit && limit > 0 && limit < max {
		max = limit
	}
	if offset > int64(len(groups)) {
		offset = int64(len(groups))
	}
	groups = groups[offset:]
	if int64(len(groups)) > max {
		groups = groups[:max]
	}
	v := microversion.FromContext(ctx)
	out := make([]any, len(groups))
	for i, g := range groups {
		out[i] = serverGroupView(v, g)
	}
	writeJSON(w, http.StatusOK, map[string]any{"server_groups": out})
}

// checkGroupHint validates the scheduler hint "group" (a string in
// nova's uuid format) and returns it canonical, "" when absent. The hints'
// other keys are nova's additionalProperties: true, and gonova has no
// filter that reads them.
func checkGroupHint(hints map[string]any) (string, error) {
	raw, ok := hints["group"]
	if !ok {
		return "", nil
	}
	s, err := (stringRule{}).check("group", raw)
	if err != nil {
		return "", err
	}
	canon, like := uuidLike(s)
	if !like {
		return "", invalidField("group", raw, fmt.Sprintf("%s is not a 'uuid'", wsgi.PyRepr(s)))
	}
	return canon, nil
}

// addServerGroups adds 2.71's "server_groups" to a server's view: the uuid
// of the group the instance is a member of, or an empty list. nova shows
// it in the bodies of server show, update and rebuild.
func (h *handlers) addServerGroups(r *http.Request, in computedb.Instance, view map[string]any) error {
	if !microversion.FromContext(r.Context()).AtLeast(2, 71) {
		return nil
	}
	g, err := h.compute.ServerGroupOfInstance(r.Context(), in.UUID)
	switch {
	case errors.Is(err, computedb.ErrNotFound):
		view["server_groups"] = []string{}
	case err != nil:
		return err
	default:
		view["server_groups"] = []string{g.UUID}
	}
	return nil
}
