package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// ErrNoValidHost means no compute host can take the instance. Errors returned
// by Schedule for that reason are *NoValidHostError.
var ErrNoValidHost = errors.New("no valid host")

// NoValidHostError carries nova's reason text.
type NoValidHostError struct{ Reason string }

func (e *NoValidHostError) Error() string {
	return "No valid host was found. " + e.Reason
}

// Is makes errors.Is(err, ErrNoValidHost) true.
func (e *NoValidHostError) Is(target error) bool { return target == ErrNoValidHost }

// Options configures a Scheduler. Zero fields take nova's defaults.
type Options struct {
	// ServiceDownTime is the effective service_down_time (see
	// servicegroup.EffectiveServiceDownTime). Default
	// servicegroup.DefaultServiceDownTime.
	ServiceDownTime time.Duration
	// CPUAllocationRatio, RAMAllocationRatio and DiskAllocationRatio scale a
	// node's capacity, as nova's *_allocation_ratio options. Default 1.0
	// (nova's initial_*_allocation_ratio for RAM and disk; no CPU
	// overcommit unless asked for).
	CPUAllocationRatio  float64
	RAMAllocationRatio  float64
	DiskAllocationRatio float64
	// Logger receives the scheduler's logs. Default slog.Default().
	Logger *slog.Logger
}

// Scheduler picks hosts. Create it with New; it is safe for concurrent use.
type Scheduler struct {
	services registry.Store
	compute  computedb.Store
	opts     Options
	mu       sync.Mutex // one placement at a time, so placements see each other
}

// New returns a Scheduler over the service registry and the compute store.
//
//	s := scheduler.New(services, compute, scheduler.Options{ServiceDownTime: servicegroup.DefaultServiceDownTime})
//	placed, err := s.Schedule(ctx, inst) // inst.TaskState == states.TaskScheduling
func New(services registry.Store, compute computedb.Store, opts Options) *Scheduler {
	if opts.ServiceDownTime <= 0 {
		opts.ServiceDownTime = servicegroup.DefaultServiceDownTime
	}
	for _, r := range []*float64{&opts.CPUAllocationRatio, &opts.RAMAllocationRatio, &opts.DiskAllocationRatio} {
		if *r <= 0 {
			*r = 1.0
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Scheduler{services: services, compute: compute, opts: opts}
}

// Candidate is a node with the room it has left.
type Candidate struct {
	Node       computedb.Node
	FreeVCPUs  float64
	FreeRAMMB  float64
	FreeDiskGB float64
}

// Schedule chooses a host for inst (a stored instance in task state
// scheduling) and records it: host and node set, task state unchanged. It
// returns the updated instance, or a *NoValidHostError when no host fits.
// The instance's own resources are never counted against a host.
func (s *Scheduler) Schedule(ctx context.Context, inst computedb.Instance) (computedb.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cands, err := s.candidates(ctx, inst)
	if err != nil {
		return computedb.Instance{}, err
	}
	if len(cands) == 0 {
		s.opts.Logger.WarnContext(ctx, "no valid host for instance", "instance_uuid", inst.UUID,
			"vcpus", inst.VCPUs, "memory_mb", inst.MemoryMB, "root_gb", inst.RootGB)
		return computedb.Instance{}, &NoValidHostError{Reason: "There are not enough hosts available."}
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

// Candidates returns the nodes that can take inst, best first. It reads but
// does not place; Schedule is the way to place.
func (s *Scheduler) Candidates(ctx context.Context, inst computedb.Instance) ([]Candidate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.candidates(ctx, inst)
}

func (s *Scheduler) candidates(ctx context.Context, inst computedb.Instance) ([]Candidate, error) {
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
	var out []Candidate
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
		c := Candidate{
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
	slices.SortStableFunc(out, func(a, b Candidate) int {
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
