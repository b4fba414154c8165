package computeapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/scheduler"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// HostRPC is the compute RPC of host-level calls. The ComputeRPC that
// NewComputeRPC returns implements it; one that does not (a test's) makes
// them ErrNotSupported.
type HostRPC interface {
	// GetHostUptime calls get_host_uptime on host; a driver without it is
	// ErrNotSupported.
	GetHostUptime(ctx context.Context, host string) (string, error)
}

// ErrComputeUnavailable: the host's nova-compute is down (nova's
// ComputeServiceUnavailable).
var ErrComputeUnavailable = errors.New("compute service unavailable")

// ComputeUnavailableError is nova's ComputeServiceUnavailable.
type ComputeUnavailableError struct{ Host string }

func (e *ComputeUnavailableError) Error() string {
	return fmt.Sprintf("Compute service of %s is unavailable at this time.", e.Host)
}

// Is makes errors.Is(err, ErrComputeUnavailable) true.
func (e *ComputeUnavailableError) Is(target error) bool { return target == ErrComputeUnavailable }

// HostUptime is nova's HostAPI.get_host_uptime: the `uptime` line of
// host, whose compute must be up (*ComputeUnavailableError otherwise).
func (a *API) HostUptime(ctx context.Context, host string) (string, error) {
	up, err := a.computeUp(ctx, host)
	if err != nil {
		return "", err
	}
	if !up {
		return "", &ComputeUnavailableError{Host: host}
	}
	hr, ok := a.rpc.(HostRPC)
	if !ok {
		return "", ErrNotSupported
	}
	bctx, cancel := context.WithTimeout(ctx, a.rpcTimeout)
	defer cancel()
	return hr.GetHostUptime(bctx, host)
}

func (c rpcClient) GetHostUptime(ctx context.Context, host string) (string, error) {
	out, err := c.cl.GetHostUptime(ctx, host)
	var rerr *rpcsvc.RemoteError
	if errors.Is(err, rpcsvc.ErrNoSuchMethod) || (errors.As(err, &rerr) && rerr.Class == "NotImplementedError") {
		return "", fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return out, err
}

// ForcedScheduler is a Scheduler that can pin a placement to a host and
// node (*scheduler.Scheduler is one).
type ForcedScheduler interface {
	ScheduleForced(ctx context.Context, inst computedb.Instance, force scheduler.Force) (computedb.Instance, error)
}

// schedule places inst, pinned to req's forced host and node when it
// names them. A Scheduler that cannot pin refuses them as NoValidHost.
func (a *API) schedule(ctx context.Context, inst computedb.Instance, req CreateRequest, g *computedb.ServerGroup) (computedb.Instance, error) {
	if req.ForcedHost == "" && req.ForcedNode == "" {
		return a.scheduleInGroup(ctx, inst, g)
	}
	fs, ok := a.sched.(ForcedScheduler)
	if !ok {
		return computedb.Instance{}, &scheduler.NoValidHostError{Reason: "The scheduler cannot force a host."}
	}
	return fs.ScheduleForced(ctx, inst, scheduler.Force{Host: req.ForcedHost, Node: req.ForcedNode})
}
