package computedb

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Quota resources, nova's names (nova.quota.QUOTAS).
const (
	ResInstances                = "instances"
	ResCores                    = "cores"
	ResRAM                      = "ram"
	ResMetadataItems            = "metadata_items"
	ResInjectedFiles            = "injected_files"
	ResInjectedFileContentBytes = "injected_file_content_bytes"
	ResInjectedFilePathBytes    = "injected_file_path_bytes"
	ResKeyPairs                 = "key_pairs"
	ResServerGroups             = "server_groups"
	ResServerGroupMembers       = "server_group_members"
	// nova-network's quotas, kept by nova in responses before 2.36; their
	// limit is always -1 unless set.
	ResFixedIPs           = "fixed_ips"
	ResFloatingIPs        = "floating_ips"
	ResSecurityGroups     = "security_groups"
	ResSecurityGroupRules = "security_group_rules"
)

// QuotaResources are every resource, sorted as nova's QUOTAS.resources.
var QuotaResources = func() []string {
	r := []string{ResInstances, ResCores, ResRAM, ResMetadataItems, ResInjectedFiles, ResInjectedFileContentBytes,
		ResInjectedFilePathBytes, ResKeyPairs, ResServerGroups, ResServerGroupMembers,
		ResFixedIPs, ResFloatingIPs, ResSecurityGroups, ResSecurityGroupRules}
	slices.Sort(r)
	return r
}()

// QuotaLimits are hard limits by resource; -1 is unlimited.
type QuotaLimits map[string]int

// QuotaRow is one stored limit: the project's own (UserID "") or one user's
// in it.
type QuotaRow struct {
	ProjectID string
	UserID    string
	Resource  string
	Limit     int
}

// Usage is what a project (or one user in it) holds of the counted
// resources: its live instances, their vcpus and memory.
type Usage struct {
	Instances int64
	Cores     int64
	RAM       int64
	// ServerGroups counts the server groups (CountUsage only).
	ServerGroups int64
}

func (u Usage) get(res string) int64 {
	switch res {
	case ResInstances:
		return u.Instances
	case ResCores:
		return u.Cores
	}
	return u.RAM
}

// InstanceQuota makes CreateInstanceInQuota check the project's instances,
// cores and ram quotas, as nova's check_num_instances_quota does: the
// limits are the rows stored for the project and user (read in the same
// transaction as the count and the insert) over Defaults ([quota]'s).
type InstanceQuota struct {
	Defaults QuotaLimits
	// Group, when not empty, is the uuid of a server group the instance
	// joins in the same transaction (the scheduler hint "group"); its
	// server_group_members quota is checked for the instance's user.
	Group string
}

// ErrOverQuota means a quota refused a create; such errors are
// *OverQuotaError.
var ErrOverQuota = errors.New("computedb: quota exceeded")

// OverQuotaError is a refused quota check. Its Error is nova's message:
// TooManyInstances for instances, cores and ram ("Quota exceeded for
// instances: Requested 1, but already used 10 of 10 instances"), or Message
// when set (the server group quotas).
type OverQuotaError struct {
	Overs     []string // sorted
	Requested map[string]int64
	Used      map[string]int64
	Limits    map[string]int
	Message   string
}

func (e *OverQuotaError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	var req, used, lim []string
	for _, r := range e.Overs {
		req = append(req, strconv.FormatInt(e.Requested[r], 10))
		used = append(used, strconv.FormatInt(e.Used[r], 10))
		lim = append(lim, strconv.Itoa(e.Limits[r]))
	}
	overs := strings.Join(e.Overs, ", ")
	return fmt.Sprintf("Quota exceeded for %s: Requested %s, but already used %s of %s %s",
		overs, strings.Join(req, ", "), strings.Join(used, ", "), strings.Join(lim, ", "), overs)
}

// Is makes errors.Is(err, ErrOverQuota) true.
func (e *OverQuotaError) Is(target error) bool { return target == ErrOverQuota }

// EffectiveLimits are the limits of project (user "") or of one user in it,
// as nova's DbQuotaDriver resolves them: the user's row, else the
// project's, else the default; a resource with none of them is -1.
func EffectiveLimits(rows []QuotaRow, user string, defaults QuotaLimits) QuotaLimits {
	out := QuotaLimits{}
	for _, r := range QuotaResources {
		out[r] = -1
		if d, ok := defaults[r]; ok {
			out[r] = d
		}
	}
	for _, row := range rows {
		if row.UserID == "" {
			out[row.Resource] = row.Limit
		}
	}
	if user != "" {
		for _, row := range rows {
			if row.UserID == user {
				out[row.Resource] = row.Limit
			}
		}
	}
	return out
}

// countedPerUser reports whether rows hold a limit of user's on instances,
// cores or ram: only then is the user's usage counted and checked, as in
// nova.
func countedPerUser(rows []QuotaRow, user string) bool {
	for _, r := range rows {
		if user != "" && r.UserID == user && (r.Resource == ResInstances || r.Resource == ResCores || r.Resource == ResRAM) {
			return true
		}
	}
	return false
}

// instanceDeltas are what creating in takes.
func instanceDeltas(in Instance) Usage {
	return Usage{Instances: 1, Cores: int64(in.VCPUs), RAM: in.MemoryMB}
}

// checkInstanceQuota is nova's check_deltas on instances, cores and ram
// followed by check_num_instances_quota's message: the project's usage plus
// deltas against the project's limits, and, when the user has limits of
// its own, the user's usage against the user's. nil when within.
func checkInstanceQuota(rows []QuotaRow, user string, defaults QuotaLimits, project, userUsage *Usage, d Usage) *OverQuotaError {
	projLimits := EffectiveLimits(rows, "", defaults)
	userLimits := EffectiveLimits(rows, user, defaults)
	var overs []string
	overUser := false
	for _, r := range []string{ResCores, ResInstances, ResRAM} { // sorted, as nova reports them
		switch {
		case projLimits[r] >= 0 && int64(projLimits[r]) < project.get(r)+d.get(r):
			overs = append(overs, r)
		case userUsage != nil && userLimits[r] >= 0 && int64(userLimits[r]) < userUsage.get(r)+d.get(r):
			overs = append(overs, r)
			overUser = true
		}
	}
	if len(overs) == 0 {
		return nil
	}
	limits, used := projLimits, project
	if overUser {
		limits = userLimits
	}
	if userUsage != nil {
		used = userUsage // nova reports the user's count whenever it counted one
	}
	e := &OverQuotaError{Overs: overs, Requested: map[string]int64{}, Used: map[string]int64{}, Limits: map[string]int{}}
	for _, r := range overs {
		e.Requested[r], e.Used[r], e.Limits[r] = d.get(r), used.get(r), limits[r]
	}
	return e
}

// checkGroupMembersQuota is nova's server_group_members check at create:
// the user's live members of the group plus one against the user's limit.
func checkGroupMembersQuota(rows []QuotaRow, user string, defaults QuotaLimits, members int64) error {
	if lim := EffectiveLimits(rows, user, defaults)[ResServerGroupMembers]; lim >= 0 && int64(lim) < members+1 {
		return &OverQuotaError{Overs: []string{ResServerGroupMembers}, Message: "Quota exceeded, too many servers in group"}
	}
	return nil
}

// checkServerGroupsQuota is nova's server_groups check at group create, for
// the project and the user.
func checkServerGroupsQuota(rows []QuotaRow, user string, defaults QuotaLimits, project, byUser int64) error {
	if lim := EffectiveLimits(rows, "", defaults)[ResServerGroups]; lim >= 0 && int64(lim) < project+1 {
		return &OverQuotaError{Overs: []string{ResServerGroups}, Message: "Quota exceeded, too many server groups."}
	}
	if lim := EffectiveLimits(rows, user, defaults)[ResServerGroups]; lim >= 0 && int64(lim) < byUser+1 {
		return &OverQuotaError{Overs: []string{ResServerGroups}, Message: "Quota exceeded, too many server groups."}
	}
	return nil
}

// checkQuotaRow validates a limit before it is stored.
func checkQuotaRow(project, user, resource string, limit int) error {
	var c checker
	c.text("project_id", project, MaxFieldLength)
	c.text("user_id", user, MaxFieldLength)
	if c.err != nil {
		return c.err
	}
	if !slices.Contains(QuotaResources, resource) {
		return invalid("resource", "%q is not a quota resource", resource)
	}
	if limit < -1 || limit > MaxID {
		return invalid("hard_limit", "must be between -1 and %d", MaxID)
	}
	return nil
}

// CheckDeltas is the quota check of deltas (instances, cores, ram) over the
// project's usage (and the user's, when user usage is given) against the
// limits rows and defaults resolve to: nil, or an *OverQuotaError. The
// stores run it inside their create transaction; a resize's check runs it
// on counts read just before.
func CheckDeltas(rows []QuotaRow, user string, defaults QuotaLimits, project, userUsage *Usage, deltas Usage) error {
	if over := checkInstanceQuota(rows, user, defaults, project, userUsage, deltas); over != nil {
		return over
	}
	return nil
}

// checkReadIDs checks ids that are only compared, never stored: any length
// matches or not, but Postgres refuses text that is not UTF-8 or holds a
// NUL, so both stores refuse those alike.
func checkReadIDs(ids ...string) error {
	var c checker
	for _, id := range ids {
		c.text("id", id, unbounded)
	}
	return c.err
}

// DefaultQuotaClass is the quota class whose limits replace the configured
// defaults (nova's get_defaults).
const DefaultQuotaClass = "default"

// withClass returns defaults with the limits of class over them (a copy).
func withClass(defaults, class QuotaLimits) QuotaLimits {
	out := make(QuotaLimits, len(defaults)+len(class))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range class {
		out[k] = v
	}
	return out
}

func checkQuotaClass(name string, limits QuotaLimits) error {
	var c checker
	c.text("quota_class_name", name, MaxFieldLength)
	if c.err != nil {
		return c.err
	}
	if name == "" {
		return invalid("quota_class_name", "is empty")
	}
	for r, v := range limits {
		if err := checkQuotaRow("", "", r, v); err != nil {
			return err
		}
	}
	return nil
}
