package api

import (
	"context"
	"slices"
	"strings"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
)

// Availability zones nova shows when no aggregate says otherwise: its
// default_availability_zone for computes, internal_service_availability_zone
// for the other services. The defaults of Deps.DefaultAvailabilityZone and
// Deps.InternalServiceAvailabilityZone.
const (
	zoneCompute  = "nova"
	zoneInternal = "internal"
)

// zoneMap is the zone of each host by the aggregates, read once for a
// request: nova reads them per request too (its cache aside).
type zoneMap struct {
	aggs            []computedb.Aggregate
	dflt, internalZ string
}

// zones reads the aggregates.
func (h *handlers) zones(ctx context.Context) (zoneMap, error) {
	aggs, err := h.compute.ListAggregates(ctx)
	return zoneMap{aggs: aggs, dflt: h.defaultZone, internalZ: h.internalZone}, err
}

// host is nova's get_host_availability_zone: the zone of host's first
// zone aggregate, or default_availability_zone.
func (z zoneMap) host(host string) string {
	if zs := computedb.HostZones(z.aggs, host); len(zs) > 0 {
		return zs[0]
	}
	return z.dflt
}

// service is nova's set_availability_zones: a compute's zones (every
// zone aggregate of its host, joined by ","), internal for the others.
func (z zoneMap) service(svc registry.Service) string {
	if svc.Binary != registry.BinaryCompute && svc.Topic != "compute" {
		return z.internalZ
	}
	zs := computedb.HostZones(z.aggs, svc.Host)
	if len(zs) == 0 {
		return z.dflt
	}
	zs = slices.Clone(zs)
	slices.Sort(zs)
	return strings.Join(zs, ",")
}

// instance is nova's get_instance_availability_zone as the server view
// shows it: the host's zone once placed, before that the zone the boot
// asked for ("" when none).
func (z zoneMap) instance(in computedb.Instance) string {
	if in.Host == "" {
		return in.AvailabilityZone
	}
	return z.host(in.Host)
}
