package api

import (
	"net/http"
	"strings"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// polServersCreateForcedHost is nova's policy on "zone:host" at create.
const polServersCreateForcedHost = "os_compute_api:servers:create:forced_host"

// placement is where a create asks its server to go.
type placement struct {
	zone, host, node string
}

// parseZone is nova's parse_availability_zone: "zone", "zone:host",
// "zone:host:node" or "zone::node".
func parseZone(s string) (placement, error) {
	switch strings.Count(s, ":") {
	case 0:
		return placement{zone: s}, nil
	case 1:
		z, h, _ := strings.Cut(s, ":")
		return placement{zone: z, host: h}, nil
	case 2:
		if z, n, ok := strings.Cut(s, "::"); ok {
			return placement{zone: z, node: n}, nil
		}
		p := strings.SplitN(s, ":", 3)
		return placement{zone: p[0], host: p[1], node: p[2]}, nil
	}
	return placement{}, fault.BadRequest("Invalid input received: Unable to parse availability_zone")
}

// createPlacement parses the create's availability_zone, checks the
// forced_host policy when it names a host or node, and then, as nova's
// _validate_host_availability_zone, keeps the zone only when the forced
// host is in it (only the default zone with a forced node alone).
func (h *handlers) createPlacement(r *http.Request, zone *string, target policy.Target) (placement, error) {
	if zone == nil {
		return placement{}, nil
	}
	p, err := parseZone(*zone)
	if err != nil {
		return p, err
	}
	if p.host == "" && p.node == "" {
		return p, nil
	}
	if err := h.enf.AuthorizeTarget(r.Context(), polServersCreateForcedHost, target); err != nil {
		return p, err
	}
	// As nova, with only a node the host is None: in no aggregate.
	aggs, err := h.compute.ListAggregates(r.Context())
	if err != nil {
		return p, err
	}
	zones := computedb.HostZones(aggs, p.host)
	switch {
	case len(zones) > 0 && zones[0] == p.zone:
	case len(zones) == 0 && p.zone == h.defaultZone:
	default:
		h.log.WarnContext(r.Context(), "requested availability zone does not hold the forced host; ignoring the zone (nova bug 1934770)",
			"availability_zone", p.zone, "host", p.host)
		p.zone = ""
	}
	return p, nil
}

// checkZoneAvailable is nova's check at create: a zone asked for without a
// forced host must be one of an enabled service's.
func (h *handlers) checkZoneAvailable(r *http.Request, p placement) error {
	if p.zone == "" || p.host != "" {
		return nil
	}
	svcs, _, err := h.services.List(r.Context(), registry.Filter{})
	if err != nil {
		return err
	}
	zones, err := h.zones(r.Context())
	if err != nil {
		return err
	}
	available, _, _ := zoneSplit(svcs, zones)
	for _, z := range available {
		if z == p.zone {
			return nil
		}
	}
	return fault.BadRequest("The requested availability zone is not available")
}

// polServersCreateDestination is nova's policy on 2.74's host and
// hypervisor_hostname at create.
const polServersCreateDestination = "compute:servers:create:requested_destination"

// requestedDestination is 2.74's host and hypervisor_hostname: the policy
// (admins by default), then nova's _validate_host_or_node (a host or node
// no compute node has is a 400), then the placement names them. Unlike a
// forced host ("zone:host"), the scheduler still checks the host: it must
// be an up, enabled compute with room, as nova's requested_destination
// runs the filters on it.
func (h *handlers) requestedDestination(r *http.Request, req serverCreate, target policy.Target, p *placement) error {
	if req.destHost == "" && req.destNode == "" {
		return nil
	}
	if err := h.enf.AuthorizeTarget(r.Context(), polServersCreateDestination, target); err != nil {
		return err
	}
	nodes, err := h.compute.ListNodes(r.Context())
	if err != nil {
		return err
	}
	hostOK, nodeOK := req.destHost == "", req.destNode == ""
	for _, n := range nodes {
		if n.Host == req.destHost {
			hostOK = true
		}
		if n.HypervisorHostname == req.destNode && (req.destHost == "" || n.Host == req.destHost) {
			nodeOK = true
		}
	}
	switch {
	case !hostOK:
		return fault.BadRequest("Compute host " + req.destHost + " could not be found.")
	case !nodeOK:
		return fault.BadRequest("Compute host " + req.destNode + " could not be found.")
	}
	p.host, p.node = req.destHost, req.destNode
	return nil
}
