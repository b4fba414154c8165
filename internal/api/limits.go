package api

import (
	"net/http"
	"slices"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// /limits, as nova's LimitsController and limits view: the project's
// absolute limits and what it uses; no rate limits ("rate" is empty, as in
// nova since rate limiting left it).

const (
	polLimits             = "os_compute_api:limits"
	polLimitsOtherProject = "os_compute_api:limits:other_project"
)

// absoluteLimitNames are the view's names of each resource's limit.
var absoluteLimitNames = map[string][]string{
	computedb.ResRAM:                      {"maxTotalRAMSize"},
	computedb.ResInstances:                {"maxTotalInstances"},
	computedb.ResCores:                    {"maxTotalCores"},
	computedb.ResKeyPairs:                 {"maxTotalKeypairs"},
	computedb.ResFloatingIPs:              {"maxTotalFloatingIps"},
	computedb.ResMetadataItems:            {"maxServerMeta", "maxImageMeta"},
	computedb.ResInjectedFiles:            {"maxPersonality"},
	computedb.ResInjectedFileContentBytes: {"maxPersonalitySize"},
	computedb.ResSecurityGroups:           {"maxSecurityGroups"},
	computedb.ResSecurityGroupRules:       {"maxSecurityGroupRules"},
	computedb.ResServerGroups:             {"maxServerGroups"},
	computedb.ResServerGroupMembers:       {"maxServerGroupMembers"},
}

// usedLimitNames are the view's names of what is in use.
var usedLimitNames = map[string]string{
	"totalRAMUsed":            computedb.ResRAM,
	"totalCoresUsed":          computedb.ResCores,
	"totalInstancesUsed":      computedb.ResInstances,
	"totalFloatingIpsUsed":    computedb.ResFloatingIPs,
	"totalSecurityGroupsUsed": computedb.ResSecurityGroups,
	"totalServerGroupsUsed":   computedb.ResServerGroups,
}

// filteredLimits are the resources /limits leaves out at v (nova's
// FILTERED_LIMITS_2_36 and _2_57).
func filteredLimits(v microversion.Version) []string {
	var out []string
	if v.AtLeast(2, 36) {
		out = append(out, computedb.ResFloatingIPs, computedb.ResSecurityGroups, computedb.ResSecurityGroupRules)
	}
	if v.AtLeast(2, 57) {
		out = append(out, computedb.ResInjectedFiles, computedb.ResInjectedFileContentBytes)
	}
	return out
}

// showLimits is GET /limits (?tenant_id= for another project, with
// limits:other_project).
func (h *handlers) showLimits(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	if err := checkQueryKeysFrom275(r, "tenant_id"); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	if err := h.enf.AuthorizeTarget(ctx, polLimits, policy.Target{}); err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	c := caller(r)
	project := ""
	if c != nil {
		project = c.ProjectID
	}
	if vals, ok := r.URL.Query()["tenant_id"]; ok {
		project = vals[len(vals)-1]
		var target policy.Target
		if c != nil {
			target = policy.Target{"project_id": c.ProjectID, "user_id": c.UserID}
		}
		if err := h.enf.AuthorizeTarget(ctx, polLimitsOtherProject, target); err != nil {
			fault.Write(w, r, quotaFault(err))
			return
		}
	}
	det, err := h.quotas.Details(ctx, project, "")
	if err != nil {
		fault.Write(w, r, quotaFault(err))
		return
	}
	filtered := filteredLimits(v)
	abs := map[string]any{}
	for res, names := range absoluteLimitNames {
		d, ok := det[res]
		if !ok || slices.Contains(filtered, res) {
			continue
		}
		for _, n := range names {
			if n == "maxImageMeta" && v.AtLeast(2, 39) {
				continue
			}
			abs[n] = d.Limit
		}
	}
	for name, res := range usedLimitNames {
		if d, ok := det[res]; ok && !slices.Contains(filtered, res) {
			abs[name] = d.InUse
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
}
