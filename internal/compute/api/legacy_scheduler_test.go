package computeapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/scheduler"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// legacyScheduler is the scheduler before claims moved into the database
// (commit ce8ec3d), kept for BenchmarkCreate only: one placement at a time
// under a mutex of this process, counting the instances of every host.
type legacyScheduler struct {
	services registry.Store
	compute  computedb.Store
	opts     scheduler.Options
	mu       sync.Mutex // one placement at a time, so placements see each other
}

// Schedule chooses a host for inst (a stored instance in task state
// scheduling) and records it: host and node set, task state unchanged. It
// returns the updated instance, or a *NoValidHostError when no host fits.
// The instance's own resources are never counted against a host.
func (s *legacyScheduler) Schedule(ctx context.Context, inst computedb.Instance) (computedb.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cands, err := s.candidates(ctx, inst)
	if err != nil {
		return computedb.Instance{}, err
	}
	if len(cands) == 0 {
		s.opts.Logger.WarnContext(ctx, "no valid host for instance", "instance_uuid", inst.UUID,
			"vcpus", inst.VCPUs, "memory_mb", inst.MemoryMB, "root_gb", inst.RootGB)
		return computedb.Instance{}, &scheduler.NoValidHostError{Reason: "There are not enough hosts available."}
	}
	best := cands[0]
	host, node, expect := best.Node.Host, best.Node.HypervisorHostname, states.TaskScheduling
	out, err := s.compute.UpdateInstance(ctx, inst.UUID, computedb.InstanceUpdate{Host: &host, Node: &node, ExpectTaskState: &expect})
	if err != nil {
		return computedb.Instance{}, fmt.Errorf("scheduler: recording host %s for instance %s: %w", host, inst.UUID, err)
	}
	s.opts.Logger.InfoContext(ctx, "instance placed", "instance_uuid", inst.UUID, "host", host, "node", node,
		"free_ram_mb", best.FreeRAMMB)
	return out, nil
}

func (s *legacyScheduler) candidates(ctx context.Context, inst computedb.Instance) ([]scheduler.Candidate, error) {
	log := s.opts.Logger
	svcs, now, err := s.services.List(ctx, registry.Filter{Binary: registry.BinaryCompute})
	if err != nil {
		return nil, fmt.Errorf("scheduler: listing compute services: %w", err)
	}
	usable := make(map[string]bool, len(svcs))
	for _, svc := range svcs {
		switch {
		case svc.Disabled:
			log.DebugContext(ctx, "host filtered out: service disabled", "host", svc.Host)
		case svc.ForcedDown:
			log.DebugContext(ctx, "host filtered out: service forced down", "host", svc.Host)
		case !servicegroup.IsUp(svc, now, s.opts.ServiceDownTime):
			log.DebugContext(ctx, "host filtered out: service down", "host", svc.Host)
		default:
			usable[svc.Host] = true
		}
	}
	nodes, err := s.compute.ListNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler: listing compute nodes: %w", err)
	}
	var out []scheduler.Candidate
	for _, n := range nodes {
		if !usable[n.Host] {
			continue
		}
		placed, err := s.compute.ListInstances(ctx, computedb.InstanceFilter{Host: n.Host})
		if err != nil {
			return nil, fmt.Errorf("scheduler: listing instances on %s: %w", n.Host, err)
		}
		var vcpus, ram, disk float64
		for _, in := range placed {
			if in.UUID == inst.UUID || (in.Node != "" && in.Node != n.HypervisorHostname) {
				continue
			}
			vcpus += float64(in.VCPUs)
			ram += float64(in.MemoryMB)
			disk += float64(in.RootGB)
		}
		c := scheduler.Candidate{
			Node:       n,
			FreeVCPUs:  float64(n.VCPUs)*s.opts.CPUAllocationRatio - vcpus,
			FreeRAMMB:  float64(n.MemoryMB)*s.opts.RAMAllocationRatio - ram,
			FreeDiskGB: float64(n.LocalGB)*s.opts.DiskAllocationRatio - disk,
		}
		if c.FreeVCPUs < float64(inst.VCPUs) || c.FreeRAMMB < float64(inst.MemoryMB) || c.FreeDiskGB < float64(inst.RootGB) {
			log.DebugContext(ctx, "host filtered out: not enough room", "host", n.Host, "node", n.HypervisorHostname,
				"free_vcpus", c.FreeVCPUs, "free_ram_mb", c.FreeRAMMB, "free_disk_gb", c.FreeDiskGB)
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b scheduler.Candidate) int {
		if c := cmp.Compare(b.FreeRAMMB, a.FreeRAMMB); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Node.Host, b.Node.Host); c != 0 {
			return c
		}
		return cmp.Compare(a.Node.HypervisorHostname, b.Node.HypervisorHostname)
	})
	return out, nil
}
