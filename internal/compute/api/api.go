package computeapi

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/internal/quota"
	"github.com/gonova/gonova/internal/scheduler"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// DefaultRPCTimeout is oslo's rpc_response_timeout: the default bound of the
// casts and calls one request makes.
const DefaultRPCTimeout = 60 * time.Second

// Options configure an API. Services, Compute and RPC are required.
type Options struct {
	// Services is the service registry: whether an instance's compute is up.
	Services registry.Store
	// Compute holds compute_nodes and instances.
	Compute computedb.Store
	// RPC sends work to computes (NewComputeRPC in production).
	RPC ComputeRPC
	// Scheduler places new instances and claims their resources. Default:
	// scheduler.New over Services and Compute with ServiceDownTime.
	Scheduler Scheduler
	// ServiceDownTime is the effective service_down_time
	// (servicegroup.EffectiveServiceDownTime). Default
	// servicegroup.DefaultServiceDownTime.
	ServiceDownTime time.Duration
	// RPCTimeout bounds the casts and calls made for one request. Default
	// DefaultRPCTimeout.
	RPCTimeout time.Duration
	// Logger receives logs. Default slog.Default().
	Logger *slog.Logger
	// Notifier sends nova's notifications of what the API does itself (a
	// local delete); nil sends none.
	Notifier *notifications.Notifier
	// DefaultAvailabilityZone is nova's default_availability_zone, for the
	// default Scheduler. Default "nova".
	DefaultAvailabilityZone string
	// Host is this API's host name (nova's CONF.host): the host of the
	// events the API records itself (api_lock). Default os.Hostname().
	Host string
	// Quotas are the limits a create is checked against (atomically in the
	// store). Default: quota.New over Compute with nova's defaults.
	Quotas *quota.Quotas
	// AllowResizeToSameHost is nova's allow_resize_to_same_host: a resize
	// may choose the instance's own host (default false: another host).
	AllowResizeToSameHost bool
}

// Scheduler places an instance in task state scheduling: it claims the
// instance's resources on a host and returns the instance with its host and
// node, or an error matching scheduler.ErrNoValidHost. *scheduler.Scheduler
// is the one nova-api uses.
type Scheduler interface {
	Schedule(ctx context.Context, inst computedb.Instance) (computedb.Instance, error)
}

// API is nova's compute.API. Create it with New; it is safe for concurrent
// use.
//
// Actions (Delete, Reboot, GetConsoleOutput) take the instance as Get
// returned it to the same caller: Get is where the project scoping is
// decided, as nova's handlers fetch the instance before they act on it.
type API struct {
	services   registry.Store
	compute    computedb.Store
	rpc        ComputeRPC
	sched      Scheduler
	downTime   time.Duration
	rpcTimeout time.Duration
	log        *slog.Logger
	notes      *notifications.Notifier
	host       string
	quotas     *quota.Quotas
	// placer lists the destinations of a resize; sameHostResize is
	// Options.AllowResizeToSameHost.
	placer         *scheduler.Scheduler
	sameHostResize bool
}

// New returns an API over the stores and the compute RPC client.
func New(o Options) (*API, error) {
	if o.Services == nil || o.Compute == nil || o.RPC == nil {
		return nil, errors.New("computeapi: Options.Services, Compute and RPC are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ServiceDownTime <= 0 {
		o.ServiceDownTime = servicegroup.DefaultServiceDownTime
	}
	if o.RPCTimeout <= 0 {
		o.RPCTimeout = DefaultRPCTimeout
	}
	if o.Scheduler == nil {
		o.Scheduler = scheduler.New(o.Services, o.Compute, scheduler.Options{ServiceDownTime: o.ServiceDownTime, Logger: o.Logger,
			DefaultAvailabilityZone: o.DefaultAvailabilityZone})
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Quotas == nil {
		o.Quotas = quota.New(o.Compute, nil)
	}
	placer, ok := o.Scheduler.(*scheduler.Scheduler)
	if !ok {
		placer = scheduler.New(o.Services, o.Compute, scheduler.Options{ServiceDownTime: o.ServiceDownTime, Logger: o.Logger,
			DefaultAvailabilityZone: o.DefaultAvailabilityZone})
	}
	return &API{services: o.Services, compute: o.Compute, rpc: o.RPC, sched: o.Scheduler,
		downTime: o.ServiceDownTime, rpcTimeout: o.RPCTimeout, log: o.Logger, notes: o.Notifier,
		host: o.Host, placer: placer, sameHostResize: o.AllowResizeToSameHost, quotas: o.Quotas}, nil
}

// Quotas are the quotas this API checks creates against.
func (a *API) Quotas() *quota.Quotas { return a.quotas }

// ServiceDownTime is the service_down_time this API judges computes by.
func (a *API) ServiceDownTime() time.Duration { return a.downTime }

// Caller is who asks: the part of nova's RequestContext compute.API reads.
type Caller struct {
	UserID    string
	ProjectID string
	// RequestID is logged with what the request changes.
	RequestID string
	// Admin sees and acts on every project's instances (nova's
	// context.is_admin); others only on their project's.
	Admin bool
}

// logger is a's logger with the caller's request id.
func (a *API) logger(c Caller) *slog.Logger {
	if c.RequestID == "" {
		return a.log
	}
	return a.log.With("request_id", c.RequestID)
}

// detached is ctx without its cancellation, bounded by the RPC timeout:
// work that must go on when the client hangs up (a boot, a cast).
func (a *API) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), a.rpcTimeout)
}
