package scheduler

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/computedb"
)

// Force pins a placement to a host and/or a node: nova's forced_host and
// forced_node, an admin's availability_zone "zone:host", "zone:host:node"
// or "zone::node".
type Force struct{ Host, Node string }

// ScheduleForced is Schedule restricted to the forced host and node (still
// an up, enabled compute with room, the claim being atomic as always).
func (s *Scheduler) ScheduleForced(ctx context.Context, inst computedb.Instance, force Force) (computedb.Instance, error) {
	return s.schedule(ctx, inst, force)
}

// placeable is the AvailabilityZoneFilter and the forced host and node:
// a node is placeable when its host is in inst's requested zone (by the
// aggregates' availability_zone metadata; a host in none is in
// DefaultAvailabilityZone) and it is the forced host and node, if any.
func (s *Scheduler) placeable(ctx context.Context, inst computedb.Instance, force Force) (func(computedb.Node) bool, error) {
	zone := inst.AvailabilityZone
	var aggs []computedb.Aggregate
	if zone != "" {
		var err error
		if aggs, err = s.compute.ListAggregates(ctx); err != nil {
			return nil, fmt.Errorf("scheduler: listing aggregates: %w", err)
		}
	}
	dflt := s.opts.DefaultAvailabilityZone
	if dflt == "" {
		dflt = computedb.DefaultAvailabilityZone
	}
	return func(n computedb.Node) bool {
		if (force.Host != "" && n.Host != force.Host) || (force.Node != "" && n.HypervisorHostname != force.Node) {
			return false
		}
		if zone == "" {
			return true
		}
		zones := computedb.HostZones(aggs, n.Host)
		if len(zones) == 0 {
			zones = []string{dflt}
		}
		for _, z := range zones {
			if z == zone {
				return true
			}
		}
		s.opts.Logger.DebugContext(ctx, "host filtered out: not in the requested availability zone", "host", n.Host,
			"zone", zone, "host_zones", zones)
		return false
	}, nil
}

// zoneOf is nova's get_host_availability_zone, recorded on the instance at
// placement: the host's first zone aggregate's zone, or the default. On a
// store error the claim records nothing (the view still shows the host's
// zone).
func (s *Scheduler) zoneOf(ctx context.Context, host string) string {
	aggs, err := s.compute.ListAggregates(ctx)
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "listing aggregates for the placed host's zone", "host", host, "error", err)
		return ""
	}
	if zones := computedb.HostZones(aggs, host); len(zones) > 0 {
		return zones[0]
	}
	if s.opts.DefaultAvailabilityZone != "" {
		return s.opts.DefaultAvailabilityZone
	}
	return computedb.DefaultAvailabilityZone
}
