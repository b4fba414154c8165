// Package quota is nova's quota engine with the DbQuotaDriver's semantics:
// limits stored per project and per user (os-quota-sets) over the [quota]
// defaults, usage counted from the live rows. The checks that must hold
// across API processes (instances, cores and ram at create, server groups
// and their members) run inside the store's transactions
// (computedb.Store.CreateInstanceInQuota, CreateServerGroup); this package
// resolves limits, reports usage (os-quota-sets detail, /limits), validates
// updates and gives other code its limit lookups (Limit).
package quota

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/config"
)

// NovaDefaults are nova's [quota] defaults.
func NovaDefaults() computedb.QuotaLimits {
	return FromConfig(config.Defaults().Quota)
}

// FromConfig returns the default limits [quota] sets; the nova-network
// resources nova still reports are -1.
func FromConfig(o config.QuotaOptions) computedb.QuotaLimits {
	return computedb.QuotaLimits{
		computedb.ResInstances:                o.Instances,
		computedb.ResCores:                    o.Cores,
		computedb.ResRAM:                      o.RAM,
		computedb.ResMetadataItems:            o.MetadataItems,
		computedb.ResInjectedFiles:            o.InjectedFiles,
		computedb.ResInjectedFileContentBytes: o.InjectedFileContentBytes,
		computedb.ResInjectedFilePathBytes:    o.InjectedFilePathLength,
		computedb.ResKeyPairs:                 o.KeyPairs,
		computedb.ResServerGroups:             o.ServerGroups,
		computedb.ResServerGroupMembers:       o.ServerGroupMembers,
		computedb.ResFixedIPs:                 -1,
		computedb.ResFloatingIPs:              -1,
		computedb.ResSecurityGroups:           -1,
		computedb.ResSecurityGroupRules:       -1,
	}
}

// Quotas resolves and reports quotas over a store. It is safe for
// concurrent use.
type Quotas struct {
	store    computedb.Store
	defaults computedb.QuotaLimits
}

// New returns the quotas of store with defaults (FromConfig; nil for
// NovaDefaults).
func New(store computedb.Store, defaults computedb.QuotaLimits) *Quotas {
	if defaults == nil {
		defaults = NovaDefaults()
	}
	d := computedb.QuotaLimits{}
	for _, r := range computedb.QuotaResources {
		d[r] = -1
		if v, ok := defaults[r]; ok {
			d[r] = v
		}
	}
	return &Quotas{store: store, defaults: d}
}

// Defaults returns a copy of the configured default limits (every
// resource): what quota checks are given; the stores put the default quota
// class over them in their transactions.
func (q *Quotas) Defaults() computedb.QuotaLimits {
	out := make(computedb.QuotaLimits, len(q.defaults))
	for k, v := range q.defaults {
		out[k] = v
	}
	return out
}

// DefaultLimits are nova's get_defaults: the configured defaults with the
// limits of the quota class "default" (os-quota-class-sets) over them.
func (q *Quotas) DefaultLimits(ctx context.Context) (computedb.QuotaLimits, error) {
	return q.ClassLimits(ctx, computedb.DefaultQuotaClass)
}

// ClassLimits are nova's get_class_quotas: the class's stored limits over
// DefaultLimits.
func (q *Quotas) ClassLimits(ctx context.Context, class string) (computedb.QuotaLimits, error) {
	def, err := q.store.ListQuotaClass(ctx, computedb.DefaultQuotaClass)
	if err != nil {
		return nil, err
	}
	out := q.Defaults()
	for k, v := range def {
		out[k] = v
	}
	if class != computedb.DefaultQuotaClass {
		own, err := q.store.ListQuotaClass(ctx, class)
		if err != nil {
			return nil, err
		}
		for k, v := range own {
			out[k] = v
		}
	}
	return out, nil
}

// SetClass stores limits for a quota class.
func (q *Quotas) SetClass(ctx context.Context, class string, limits computedb.QuotaLimits) error {
	return q.store.SetQuotaClass(ctx, class, limits)
}

// Limits returns the limits in force for project, or for user in it (user
// ""): the user's stored limit, else the project's, else the default.
func (q *Quotas) Limits(ctx context.Context, project, user string) (computedb.QuotaLimits, error) {
	rows, err := q.store.ListQuotas(ctx, project)
	if err != nil {
		return nil, err
	}
	def, err := q.DefaultLimits(ctx)
	if err != nil {
		return nil, err
	}
	return computedb.EffectiveLimits(rows, user, def), nil
}

// Limit is one resource's limit for user in project (-1: unlimited): the
// lookup the key pair (key_pairs, per user) and server metadata
// (metadata_items) checks use.
func (q *Quotas) Limit(ctx context.Context, project, user, resource string) (int, error) {
	if _, ok := q.defaults[resource]; !ok { // every resource has a default
		return 0, fmt.Errorf("quota: unknown resource %q", resource)
	}
	l, err := q.Limits(ctx, project, user)
	if err != nil {
		return 0, err
	}
	return l[resource], nil
}

// Detail is one resource of os-quota-sets' detail: its limit, what is in
// use, and nova's reserved (always 0 since reservations are gone).
type Detail struct {
	Limit    int   `json:"limit"`
	InUse    int64 `json:"in_use"`
	Reserved int   `json:"reserved"`
}

// Details returns every resource's limit and usage for project (or user in
// it), as nova's get_project_quotas / get_user_quotas with usages: the
// instances, cores, ram and server groups are counted (for the user when
// one is given); key_pairs and server_group_members are shown 0, as nova
// shows them; the rest are not counted.
func (q *Quotas) Details(ctx context.Context, project, user string) (map[string]Detail, error) {
	limits, err := q.Limits(ctx, project, user)
	if err != nil {
		return nil, err
	}
	u, err := q.store.CountUsage(ctx, project, user)
	if err != nil {
		return nil, err
	}
	used := map[string]int64{computedb.ResInstances: u.Instances, computedb.ResCores: u.Cores, computedb.ResRAM: u.RAM,
		computedb.ResServerGroups: u.ServerGroups}
	out := make(map[string]Detail, len(limits))
	for r, l := range limits {
		out[r] = Detail{Limit: l, InUse: used[r]}
	}
	return out, nil
}

// Range is what an update may set a resource's limit to (-1 for Maximum:
// no bound).
type Range struct{ Minimum, Maximum int64 }

// Settable is nova's get_settable_quotas: for a project, at least what is
// in use and what its users' own limits add up to; for a user, at least
// what the user uses and at most what the project's limit leaves over its
// users' limits, plus the user's own.
func (q *Quotas) Settable(ctx context.Context, project, user string) (map[string]Range, error) {
	rows, err := q.store.ListQuotas(ctx, project)
	if err != nil {
		return nil, err
	}
	det, err := q.Details(ctx, project, user)
	if err != nil {
		return nil, err
	}
	def, err := q.DefaultLimits(ctx)
	if err != nil {
		return nil, err
	}
	proj := computedb.EffectiveLimits(rows, "", def)
	byUsers := map[string]int64{}
	mine := map[string]int64{}
	for _, r := range rows {
		if r.UserID != "" {
			byUsers[r.Resource] += int64(r.Limit)
			if r.UserID == user {
				mine[r.Resource] = int64(r.Limit)
			}
		}
	}
	out := make(map[string]Range, len(det))
	for r, d := range det {
		if user == "" {
			out[r] = Range{Minimum: max(byUsers[r], d.InUse), Maximum: -1}
			continue
		}
		maximum := int64(-1)
		if proj[r] != -1 {
			maximum = int64(proj[r]) - byUsers[r] + mine[r]
		}
		out[r] = Range{Minimum: d.InUse, Maximum: maximum}
	}
	return out, nil
}

// Set stores limits for project (or user in it).
func (q *Quotas) Set(ctx context.Context, project, user string, limits computedb.QuotaLimits) error {
	return q.store.SetQuotas(ctx, project, user, limits)
}

// Delete reverts project (or user in it) to the defaults.
func (q *Quotas) Delete(ctx context.Context, project, user string) error {
	return q.store.DeleteQuotas(ctx, project, user)
}

// CheckResize is nova's quota check of a resize (_check_quota_for_upsize:
// the cores and ram a bigger flavor adds, counted for the instance's
// project and its user): nil when within, otherwise an
// *computedb.OverQuotaError with nova's message. It reads and does not
// reserve: the resize's own write must follow.
func (q *Quotas) CheckResize(ctx context.Context, in computedb.Instance, newVCPUs int, newMemoryMB int64) error {
	dCores, dRAM := max(int64(newVCPUs-in.VCPUs), 0), max(newMemoryMB-in.MemoryMB, 0)
	if dCores == 0 && dRAM == 0 {
		return nil
	}
	rows, err := q.store.ListQuotas(ctx, in.ProjectID)
	if err != nil {
		return err
	}
	proj, err := q.store.CountUsage(ctx, in.ProjectID, "")
	if err != nil {
		return err
	}
	// nova's resize check counts the user's usage too, whether or not the
	// user has limits of its own (its limits are then the project's).
	user, err := q.store.CountUsage(ctx, in.ProjectID, in.UserID)
	if err != nil {
		return err
	}
	def, err := q.DefaultLimits(ctx)
	if err != nil {
		return err
	}
	return computedb.CheckDeltas(rows, in.UserID, def, &proj, &user, computedb.Usage{Cores: dCores, RAM: dRAM})
}

// InstancesWithin is how many of maxCount instances of vcpus and memoryMB
// each the quota of user in project has room for now, at least minCount:
// nova's check_num_instances_quota. Over quota even for minCount, it is
// nova's 403 for the request (an *OverQuotaError requesting minCount). The
// rows are still inserted under the store's atomic check: this only
// chooses the count.
func (q *Quotas) InstancesWithin(ctx context.Context, project, user string, vcpus int, memoryMB int64, minCount, maxCount int) (int, error) {
	if maxCount == 1 {
		return 1, nil // the insert's own check answers
	}
	limits, err := q.Limits(ctx, project, user)
	if err != nil {
		return 0, err
	}
	used, err := q.store.CountUsage(ctx, project, "")
	if err != nil {
		return 0, err
	}
	per := map[string]int64{computedb.ResInstances: 1, computedb.ResCores: int64(vcpus), computedb.ResRAM: memoryMB}
	have := map[string]int64{computedb.ResInstances: used.Instances, computedb.ResCores: used.Cores, computedb.ResRAM: used.RAM}
	room := int64(maxCount)
	for _, r := range []string{computedb.ResInstances, computedb.ResCores, computedb.ResRAM} {
		lim := limits[r]
		if lim < 0 || per[r] <= 0 {
			continue
		}
		room = min(room, max(0, (int64(lim)-have[r])/per[r]))
	}
	if room >= int64(minCount) {
		return int(room), nil
	}
	over := &computedb.OverQuotaError{Requested: map[string]int64{}, Used: have, Limits: map[string]int{}}
	for _, r := range []string{computedb.ResCores, computedb.ResInstances, computedb.ResRAM} { // nova's order: sorted
		lim := limits[r]
		if lim >= 0 && have[r]+per[r]*int64(minCount) > int64(lim) {
			over.Overs = append(over.Overs, r)
			over.Requested[r] = per[r] * int64(minCount)
			over.Limits[r] = lim
		}
	}
	return 0, over
}
