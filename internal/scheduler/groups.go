package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// ScheduleInGroup is Schedule for a member of server group g, as nova's
// ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter and the
// ServerGroupSoft*Weighers place it: under a hard policy (affinity: the
// host of the other members, any host for the first; anti-affinity: a host
// with fewer than max_server_per_host (1) other members) a candidate that
// breaks it is skipped, and the claim re-checks the policy under the
// group's lock (computedb.GroupClaim), so members placed at once in several
// processes still keep it; under a soft policy the candidates are ordered
// by how many members they hold (soft-affinity most first,
// soft-anti-affinity fewest first) and none is refused.
func (s *Scheduler) ScheduleInGroup(ctx context.Context, inst computedb.Instance, g computedb.ServerGroup) (computedb.Instance, error) {
	cands, err := s.candidates(ctx, inst, Force{})
	if err != nil {
		return computedb.Instance{}, err
	}
	byHost, err := s.memberHosts(ctx, g, inst.UUID)
	if err != nil {
		return computedb.Instance{}, err
	}
	var claim *computedb.GroupClaim
	switch g.Policy {
	case computedb.PolicyAffinity, computedb.PolicyAntiAffinity:
		claim = &computedb.GroupClaim{UUID: g.UUID}
	case computedb.PolicySoftAffinity:
		slices.SortStableFunc(cands, func(a, b Candidate) int { return cmp.Compare(byHost[b.Node.Host], byHost[a.Node.Host]) })
	case computedb.PolicySoftAntiAffinity:
		slices.SortStableFunc(cands, func(a, b Candidate) int { return cmp.Compare(byHost[a.Node.Host], byHost[b.Node.Host]) })
	}
	log := s.opts.Logger
	expect := states.TaskScheduling
	for _, c := range cands {
		out, err := s.compute.ClaimInstance(ctx, computedb.ClaimRequest{
			InstanceUUID: inst.UUID, NodeID: c.Node.ID, ExpectTaskState: &expect, Ratios: s.ratios, Group: claim})
		switch {
		case err == nil:
			log.InfoContext(ctx, "instance placed", "instance_uuid", inst.UUID, "host", out.Host, "node", out.Node,
				"server_group", g.UUID, "policy", g.Policy)
			return out, nil
		case errors.Is(err, computedb.ErrGroupPolicy), errors.Is(err, computedb.ErrInsufficientResources),
			errors.Is(err, computedb.ErrNodeNotFound):
			log.DebugContext(ctx, "claim refused; trying the next host", "instance_uuid", inst.UUID,
				"host", c.Node.Host, "node", c.Node.HypervisorHostname, "reason", err.Error())
		default:
			return computedb.Instance{}, fmt.Errorf("scheduler: claiming %s for instance %s: %w", c.Node.Host, inst.UUID, err)
		}
	}
	log.WarnContext(ctx, "no valid host for instance", "instance_uuid", inst.UUID, "server_group", g.UUID,
		"policy", g.Policy, "candidates", len(cands))
	return computedb.Instance{}, &NoValidHostError{Reason: "There are not enough hosts available."}
}

// memberHosts counts the live members of g other than self on each host.
func (s *Scheduler) memberHosts(ctx context.Context, g computedb.ServerGroup, self string) (map[string]int, error) {
	out := map[string]int{}
	for _, id := range g.Members {
		if id == self {
			continue
		}
		in, err := s.compute.GetInstance(ctx, id)
		if errors.Is(err, computedb.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("scheduler: reading member %s of server group %s: %w", id, g.UUID, err)
		}
		if in.Host != "" {
			out[in.Host]++
		}
	}
	return out, nil
}
