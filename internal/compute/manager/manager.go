package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// Defaults of the periodic task spacings: nova's
// update_resources_interval (0, meaning the periodic default of 60 s) and
// sync_power_state_interval (600 s).
const (
	DefaultResourceSpacing       = 60 * time.Second
	DefaultSyncPowerStateSpacing = 600 * time.Second
)

// dbWriteTimeout bounds the database writes that record a failure after the
// handler's own context has ended (a cancelled spawn must still leave its
// instance in vm_state error, not building).
const dbWriteTimeout = 10 * time.Second

// Options configure a ComputeManager.
type Options struct {
	// Host is the compute host's name (the host option); required.
	Host string
	// Driver is the hypervisor; required.
	Driver virt.Driver
	// Store holds the compute_nodes and instances rows; required.
	Store computedb.Store
	// HostIP is the host's address as recorded in compute_nodes.host_ip
	// (nova's my_ip); empty records none.
	HostIP string
	// ResourceSpacing is how often update_available_resource runs (nova's
	// update_resources_interval): 0 means DefaultResourceSpacing, negative
	// disables the periodic run (PreStartHook still runs it once).
	ResourceSpacing time.Duration
	// SyncPowerStateSpacing is how often _sync_power_states runs (nova's
	// sync_power_state_interval): 0 means DefaultSyncPowerStateSpacing,
	// negative disables it.
	SyncPowerStateSpacing time.Duration
	// AllocationRatios are nova's cpu_allocation_ratio, ram_allocation_ratio
	// and disk_allocation_ratio: each one > 0 is written into the node's row
	// at every resource report; a zero one leaves the node's ratio, which a
	// new node takes from InitialAllocationRatios (nova's
	// initial_*_allocation_ratio: 16.0, 1.5 and 1.0 there; 1.0 for a zero one
	// here).
	AllocationRatios        computedb.AllocationRatios
	InitialAllocationRatios computedb.AllocationRatios
	// ReservedHostMemoryMB, ReservedHostDiskMB and ReservedHostCPUs are kept
	// for the host, never claimed by instances (nova's reserved_host_*
	// options; nova's default memory reserve is 512 MB, here 0 unless set).
	ReservedHostMemoryMB int64
	ReservedHostDiskMB   int64
	ReservedHostCPUs     int
	// InstanceBuildTimeout is nova's instance_build_timeout: an instance of
	// this host building longer than this (since its creation) is set to
	// error by _check_instance_build_time. 0 disables the check.
	InstanceBuildTimeout time.Duration
	// Clock stamps launched_at and terminated_at; nil means clock.Real.
	Clock clock.Clock
	// Logger receives the manager's logs; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the manager's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// RPCVersion is the compute RPC API version the endpoint serves: empty
	// means rpcapi.Version, the newest. An older one (one of the versions
	// of internal/compute/versions) makes the manager serve what a compute
	// of that release served, and nothing newer: a rolling upgrade's old
	// compute, in tests.
	RPCVersion string
	// Notifier sends nova's instance notifications; nil sends none.
	Notifier *notifications.Notifier
	// ResizeConfirmWindow is nova's resize_confirm_window: a resize of
	// this host waiting in VERIFY_RESIZE that long is confirmed by
	// _poll_unconfirmed_resizes. 0 disables it.
	ResizeConfirmWindow time.Duration
	// Peers casts the hops of a resize between two hosts to the other
	// compute (resize.go); nil: such a resize fails at its hop, a resize
	// within this host needs none.
	Peers Peers
}

// ComputeManager is nova's ComputeManager for one host: it builds, reboots
// and deletes instances through a virt.Driver, keeps the instances rows of
// its host true to the hypervisor, and reports the host's resources in its
// compute_nodes row. It implements service.Manager; its RPC methods are on
// the value Endpoints returns.
type ComputeManager struct {
	service.BaseManager

	host   string
	driver virt.Driver
	store  computedb.Store
	clock  clock.Clock
	log    *slog.Logger
	met    *metrics
	work   *inflight
	notes  *notifications.Notifier

	hostIP          string
	rpcVersion      string
	ratios          computedb.AllocationRatios
	initialRatios   computedb.AllocationRatios
	reserved        computedb.Resources // vcpus, memory MB, disk GB
	resourceSpacing time.Duration
	syncSpacing     time.Duration
	buildTimeout    time.Duration

	mu        sync.Mutex
	serviceID int64
	nodeID    int64 // the compute_nodes row's id, learnt at the first report

	peers         Peers
	confirmWindow time.Duration
}

var _ service.Manager = (*ComputeManager)(nil)

// New returns a manager for opts.Host. It registers its metrics on
// opts.Registerer, so build one manager per registry.
//
//	m, err := manager.New(manager.Options{Host: cfg.Host, Driver: fake.New(fake.Options{}),
//		Store: computedb.NewPG(pool), Registerer: prometheus.DefaultRegisterer})
func New(opts Options) (*ComputeManager, error) {
	switch {
	case opts.Host == "":
		return nil, errors.New("compute manager: no host")
	case opts.Driver == nil:
		return nil, errors.New("compute manager: no virt driver")
	case opts.Store == nil:
		return nil, errors.New("compute manager: no store")
	case opts.InstanceBuildTimeout < 0:
		return nil, fmt.Errorf("compute manager: negative instance_build_timeout %s", opts.InstanceBuildTimeout)
	}
	if opts.ResourceSpacing == 0 {
		opts.ResourceSpacing = DefaultResourceSpacing
	}
	if opts.SyncPowerStateSpacing == 0 {
		opts.SyncPowerStateSpacing = DefaultSyncPowerStateSpacing
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RPCVersion == "" {
		opts.RPCVersion = rpcapi.Version
	}
	if !servedVersion(opts.RPCVersion) {
		return nil, fmt.Errorf("compute manager: compute RPC version %q is not one a gonova release serves", opts.RPCVersion)
	}
	met, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	c := clock.OrReal(opts.Clock)
	return &ComputeManager{
		host:          opts.Host,
		driver:        opts.Driver,
		store:         opts.Store,
		clock:         c,
		log:           opts.Logger.With("host", opts.Host),
		met:           met,
		work:          newInflight(c),
		hostIP:        opts.HostIP,
		ratios:        opts.AllocationRatios,
		initialRatios: opts.InitialAllocationRatios,
		reserved: computedb.Resources{VCPUs: int64(opts.ReservedHostCPUs), MemoryMB: opts.ReservedHostMemoryMB,
			LocalGB: (opts.ReservedHostDiskMB + 1023) / 1024},
		rpcVersion:      opts.RPCVersion,
		notes:           opts.Notifier,
		resourceSpacing: opts.ResourceSpacing,
		syncSpacing:     opts.SyncPowerStateSpacing,
		buildTimeout:    opts.InstanceBuildTimeout,
		peers:           opts.Peers,
		confirmWindow:   opts.ResizeConfirmWindow,
	}, nil
}

// Host returns the host the manager serves.
func (m *ComputeManager) Host() string { return m.host }

// InitHost prepares the driver and reconciles the instances the database puts
// on this host with what a restart left behind (nova's init_host and
// _init_instance): builds and deletes interrupted by the last stop are
// finished, transitional task states cleared, power states refreshed.
func (m *ComputeManager) InitHost(ctx context.Context) error {
	start := time.Now()
	err := m.driver.InitHost(ctx, m.host)
	m.met.observe(callInitHost, start)
	if err != nil {
		return fmt.Errorf("compute manager: driver init_host: %w", err)
	}
	return m.initInstances(ctx)
}

// PreStartHook records the service row's id and runs update_available_resource
// once, so that a new host appears in compute_nodes (and can be scheduled to)
// before its first periodic run. A failure is logged, not returned, as nova
// does: the periodic task retries.
func (m *ComputeManager) PreStartHook(ctx context.Context, svc registry.Service) error {
	m.mu.Lock()
	m.serviceID = svc.ID
	m.mu.Unlock()
	if err := m.UpdateAvailableResource(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		m.log.Error("Error updating resources at start-up; the periodic task will retry", "error", err)
	}
	return nil
}

// Shutdown waits for the RPC handlers still running until ctx ends. When it
// ends first, the remaining handlers' contexts are cancelled (a cancelled
// spawn leaves its instance in vm_state error) and the error names them.
// Handlers that arrive after Shutdown began are refused with a retryable
// error, so their casts go back to the queue.
func (m *ComputeManager) Shutdown(ctx context.Context) error {
	n := m.work.running()
	m.log.Info("Compute manager shutting down", "in_flight", n)
	if err := m.work.shutdown(ctx); err != nil {
		m.log.Warn("Compute manager shutdown deadline passed with work in flight", "error", err)
		return err
	}
	if n > 0 {
		m.log.Info("In-flight compute operations finished")
	}
	return nil
}

// Endpoints serves the compute RPC API (rpcapi) at rpcapi.Version (or
// Options.RPCVersion), in no namespace, as nova's ComputeManager target. A
// message for a newer version is refused by the dispatcher as
// UnsupportedVersion, as a compute of an older release refuses it.
func (m *ComputeManager) Endpoints() []rpcsvc.Endpoint {
	return []rpcsvc.Endpoint{{Version: m.rpcVersion, Impl: &Endpoint{m: m}}}
}

// RPCVersion is the compute RPC API version the manager serves.
func (m *ComputeManager) RPCVersion() string { return m.rpcVersion }

// servedVersion reports whether v is the compute RPC version of one of
// gonova's service versions.
func servedVersion(v string) bool {
	for _, e := range versions.History() {
		if e.ComputeRPC != "" && e.ComputeRPC == v {
			return true
		}
	}
	return false
}

// PeriodicTasks registers update_available_resource, _sync_power_states
// and, when InstanceBuildTimeout is set, _check_instance_build_time.
func (m *ComputeManager) PeriodicTasks(ts *periodic.Tasks) {
	ts.Add("update_available_resource", m.UpdateAvailableResource, periodic.Spacing(m.resourceSpacing))
	ts.Add("_sync_power_states", m.SyncPowerStates, periodic.Spacing(m.syncSpacing))
	if m.buildTimeout > 0 {
		ts.Add("_check_instance_build_time", m.CheckInstanceBuildTime, periodic.Spacing(buildTimeCheckSpacing(m.buildTimeout)))
	}
	if m.confirmWindow > 0 {
		ts.Add("_poll_unconfirmed_resizes", m.PollUnconfirmedResizes, periodic.Spacing(buildTimeCheckSpacing(m.confirmWindow)))
	}
}

func (m *ComputeManager) getAvailableResource(ctx context.Context) (virt.Resources, error) {
	start := time.Now()
	res, err := m.driver.GetAvailableResource(ctx)
	m.met.observe(callGetAvailableRes, start)
	if err != nil {
		return res, fmt.Errorf("driver get_available_resource: %w", err)
	}
	if res.HypervisorHostname == "" {
		res.HypervisorHostname = m.host
	}
	return res, nil
}

// powerState asks the driver for an instance's power state; an instance the
// hypervisor does not have is NOSTATE, as nova's _get_power_state.
func (m *ComputeManager) powerState(ctx context.Context, uuid string) (states.PowerState, error) {
	start := time.Now()
	info, err := m.driver.GetInfo(ctx, uuid)
	m.met.observe(callGetInfo, start)
	switch {
	case errors.Is(err, virt.ErrInstanceNotFound):
		return states.PowerNoState, nil
	case err != nil:
		return states.PowerNoState, err
	}
	return info.State, nil
}

// writeCtx is a context for a database write that must happen even when ctx
// has ended (recording a failure).
func writeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), dbWriteTimeout)
}

func ptr[T any](v T) *T { return &v }
