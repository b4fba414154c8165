package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	// CPUAllocationRatio, RAMAllocationRatio and DiskAllocationRatio, when
	// > 0, replace each node's own ratio (which its nova-compute reports:
	// nova's *_allocation_ratio and initial_*_allocation_ratio) in this
	// scheduler's claims. Default 0: the node's. nova-api sets none.
	CPUAllocationRatio  float64
	RAMAllocationRatio  float64
	DiskAllocationRatio float64
	// Logger receives the scheduler's logs. Default slog.Default().
	Logger *slog.Logger
	// DefaultAvailabilityZone is the zone of a host no aggregate puts in
	// one (nova's default_availability_zone): an instance asking for it
	// goes to such hosts. Default "nova".
	DefaultAvailabilityZone string
}

// Scheduler picks hosts and claims their resources. Create it with New; it
// is safe for concurrent use, and any number of schedulers in any number of
// processes may place at once: the claims are atomic in the store.
type Scheduler struct {
	services registry.Store
	compute  computedb.Store
	opts     Options
	ratios   computedb.AllocationRatios // overrides, zero for the node's
}

// New returns a Scheduler over the service registry and the compute store.
//
//	s := scheduler.New(services, compute, scheduler.Options{ServiceDownTime: servicegroup.DefaultServiceDownTime})
//	placed, err := s.Schedule(ctx, inst) // inst.TaskState == states.TaskScheduling
func New(services registry.Store, compute computedb.Store, opts Options) *Scheduler {
	if opts.ServiceDownTime <= 0 {
		opts.ServiceDownTime = servicegroup.DefaultServiceDownTime
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Scheduler{services: services, compute: compute, opts: opts,
		ratios: computedb.AllocationRatios{CPU: opts.CPUAllocationRatio, RAM: opts.RAMAllocationRatio, Disk: opts.DiskAllocationRatio}}
}

// Candidate is a node with the room it had left when it was read.
type Candidate struct {
	Node       computedb.Node
	FreeVCPUs  float64
	FreeRAMMB  float64
	FreeDiskGB float64
}

// Schedule chooses a host for inst (a stored instance in task state
// scheduling) and claims the instance's resources there
// (computedb.Store.ClaimInstance: host and node set, task state unchanged).
// The candidates are tried best first; one that refuses the claim (another
// placement took the room meanwhile, or the node is gone) gives way to the
// next. It returns the updated instance, or a *NoValidHostError when no host
// took it; computedb.ErrNotFound when the instance was deleted, and
// computedb.ErrConflict when it left task state scheduling or holds a claim
// already.
func (s *Scheduler) Schedule(ctx context.Context, inst computedb.Instance) (computedb.Instance, error) {
	return s.schedule(ctx, inst, Force{})
}

func (s *Scheduler) schedule(ctx context.Context, inst computedb.Instance, force Force) (computedb.Instance, error) {
	cands, err := s.candidates(ctx, inst, force)
	if err != nil {
		return computedb.Instance{}, err
	}
	log := s.opts.Logger
	expect := states.TaskScheduling
	for _, c := range cands {
		out, err := s.compute.ClaimInstance(ctx, computedb.ClaimRequest{
			InstanceUUID: inst.UUID, NodeID: c.Node.ID, ExpectTaskState: &expect, Ratios: s.ratios,
			AvailabilityZone: s.zoneOf(ctx, c.Node.Host)})
		switch {
		case err == nil:
			log.InfoContext(ctx, "instance placed", "instance_uuid", inst.UUID, "host", out.Host, "node", out.Node,
				"free_ram_mb", c.FreeRAMMB-float64(inst.MemoryMB))
			return out, nil
		case errors.Is(err, computedb.ErrInsufficientResources), errors.Is(err, computedb.ErrNodeNotFound):
			log.DebugContext(ctx, "claim refused; trying the next host", "instance_uuid", inst.UUID,
				"host", c.Node.Host, "node", c.Node.HypervisorHostname, "reason", err.Error())
		default:
			return computedb.Instance{}, fmt.Errorf("scheduler: claiming %s for instance %s: %w", c.Node.Host, inst.UUID, err)
		}
	}
	log.WarnContext(ctx, "no valid host for instance", "instance_uuid", inst.UUID,
		"vcpus", inst.VCPUs, "memory_mb", inst.MemoryMB, "root_gb", inst.RootGB, "candidates", len(cands))
	return computedb.Instance{}, &NoValidHostError{Reason: "There are not enough hosts available."}
}

// Candidates returns the nodes that could take inst when they were read,
// best first. It reads but does not claim; Schedule is the way to place.
func (s *Scheduler) Candidates(ctx context.Context, inst computedb.Instance) ([]Candidate, error) {
	return s.candidates(ctx, inst, Force{})
}

func (s *Scheduler) candidates(ctx context.Context, inst computedb.Instance, force Force) ([]Candidate, error) {
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
	placeable, err := s.placeable(ctx, inst, force)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, n := range nodes {
		if !usable[n.Host] || !placeable(n) {
			continue
		}
		free := n.Free(s.ratios)
		c := Candidate{Node: n, FreeVCPUs: float64(free.VCPUs), FreeRAMMB: float64(free.MemoryMB), FreeDiskGB: float64(free.LocalGB)}
		if (inst.VCPUs > 0 && free.VCPUs < int64(inst.VCPUs)) || (inst.MemoryMB > 0 && free.MemoryMB < inst.MemoryMB) ||
			(inst.RootGB > 0 && free.LocalGB < inst.RootGB) {
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
