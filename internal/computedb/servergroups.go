package computedb

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Server group policies, nova's.
const (
	PolicyAffinity         = "affinity"
	PolicyAntiAffinity     = "anti-affinity"
	PolicySoftAffinity     = "soft-affinity"
	PolicySoftAntiAffinity = "soft-anti-affinity"
)

// ServerGroupPolicies are the policies a group may have.
var ServerGroupPolicies = []string{PolicyAntiAffinity, PolicyAffinity, PolicySoftAntiAffinity, PolicySoftAffinity}

// ServerGroup is one server group (nova's InstanceGroup).
type ServerGroup struct {
	ID        int64
	UUID      string
	Name      string
	ProjectID string
	UserID    string
	Policy    string
	// MaxServerPerHost is the anti-affinity rule of 2.64; 0 when not set
	// (one server per host).
	MaxServerPerHost int
	// Members are the uuids of the group's live instances, oldest first.
	Members   []string
	CreatedAt time.Time
}

// ErrGroupPolicy means a claim was refused because the node's host breaks
// the instance's server group policy (affinity or anti-affinity).
var ErrGroupPolicy = errors.New("computedb: the host breaks the server group's policy")

// GroupClaim restricts a claim to hosts that keep the hard policy of the
// instance's server group, checked under the group's row lock in the
// claim's transaction, so concurrent placements of members in any number of
// processes see each other. Soft policies are preferences of the
// scheduler, not checked here.
type GroupClaim struct {
	// UUID is the group's uuid.
	UUID string
}

// hostAllowed reports whether placing one more member on host keeps
// policy, given how many other members each host holds now.
func hostAllowed(policy string, maxPerHost int, byHost map[string]int, host string) bool {
	switch policy {
	case PolicyAffinity:
		if len(byHost) == 0 {
			return true
		}
		_, ok := byHost[host]
		return ok
	case PolicyAntiAffinity:
		if maxPerHost <= 0 {
			maxPerHost = 1
		}
		return byHost[host] < maxPerHost
	}
	return true
}

// GroupPolicyError is a claim refused by the group's policy.
type GroupPolicyError struct {
	Group, Policy, Host string
}

func (e *GroupPolicyError) Error() string {
	return fmt.Sprintf("host %s breaks the %s policy of server group %s", e.Host, e.Policy, e.Group)
}

// Is makes errors.Is(err, ErrGroupPolicy) true.
func (e *GroupPolicyError) Is(target error) bool { return target == ErrGroupPolicy }

func checkServerGroup(g ServerGroup) error {
	var c checker
	c.text("name", g.Name, MaxFieldLength)
	c.text("project_id", g.ProjectID, MaxFieldLength)
	c.text("user_id", g.UserID, MaxFieldLength)
	c.int32("max_server_per_host", int64(g.MaxServerPerHost))
	if c.err != nil {
		return c.err
	}
	if !slices.Contains(ServerGroupPolicies, g.Policy) {
		return invalid("policy", "%q is not a server group policy", g.Policy)
	}
	return nil
}
