package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gonova/gonova/pkg/backdoor"
	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/gmr"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/logging"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/periodic"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// DefaultVersion is the service version recorded in services rows when
// Options.Version is zero.
const DefaultVersion = 1

// Service is what the launcher runs; an alias so a main needs one import.
type Service = launcher.Service

// Options say what a binary needs from App.
type Options struct {
	// Product names the binary in reports and logs (nova-compute).
	Product string
	// DefaultTransportURL is used when transport_url is unset; empty means
	// transport_url is required (nova's behaviour for RPC services).
	DefaultTransportURL string
	// Output receives logs; nil means os.Stderr.
	Output *os.File
	// BindOnly builds no stores: the parent of multi-worker processes only
	// binds listeners that its workers inherit; the workers do the work.
	BindOnly bool
	// Version is the service version recorded in this process's services
	// rows (nova's SERVICE_VERSION). Zero means DefaultVersion.
	Version int
}

// App is the shared, configured runtime of a gonova process.
type App struct {
	Cfg       *config.Config
	Log       *slog.Logger
	Logging   logging.Setup
	Metrics   *prometheus.Registry
	Reporter  *gmr.Reporter
	Services  registry.Store
	Transport *rpcsvc.Transport

	product  string
	version  int
	pool     *pgxpool.Pool
	ready    atomic.Bool
	downTime time.Duration
	onReady  []func()
	onClose  []func()
	cfgPtr   atomic.Pointer[config.Config]
}

// New parses args as nova.conf options and builds the logger, metrics and
// stores. The transport is opened by OpenTransport, for binaries that need it.
// Its errors carry the exit code of their cause (ExitCode).
func New(ctx context.Context, args []string, o Options) (*App, error) {
	cfg, rest, err := config.Parse(args)
	if err != nil {
		return nil, &Error{Code: ExitConfig, Err: err}
	}
	if len(rest) > 0 {
		return nil, &Error{Code: ExitConfig, Err: fmt.Errorf("unexpected arguments %q (flags: --config-file FILE, --config-dir DIR, --debug)", MaskArgs(rest))}
	}
	return NewFromConfig(ctx, cfg, o)
}

// NewFromConfig is New for an already parsed configuration.
func NewFromConfig(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	format := logging.FormatText
	if cfg.Default.UseJSON {
		format = logging.FormatJSON
	}
	lopts := logging.Options{Format: format, Debug: cfg.Default.Debug, Level: slog.LevelInfo}
	if o.Output != nil {
		lopts.Output = o.Output
	}
	ls, err := logging.New(lopts)
	if err != nil {
		return nil, &Error{Code: ExitConfig, Err: err}
	}
	log := ls.Logger.With("service", o.Product)
	slog.SetDefault(log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a := &App{Cfg: cfg, Log: log, Logging: ls, Metrics: reg, product: o.Product, version: o.Version,
		Reporter: gmr.New(gmr.Options{Product: o.Product})}
	if a.version == 0 {
		a.version = DefaultVersion
	}
	a.cfgPtr.Store(cfg)
	a.Reporter.Register("Configuration", gmr.ConfigSection(a.settings))
	for _, ig := range cfg.Ignored {
		log.Info("configuration option belongs to another part of nova; ignored", "option", ig)
	}
	a.downTime = servicegroup.EffectiveServiceDownTime(cfg.Default.ServiceDownTime, cfg.Default.ReportInterval, log)

	if !o.BindOnly {
		if err := a.openStores(ctx); err != nil {
			return nil, &Error{Code: ExitDatabase, Err: err}
		}
	}
	if cfg.Default.TransportURL == "" && o.DefaultTransportURL != "" {
		cfg.Default.TransportURL = o.DefaultTransportURL
	}
	return a, nil
}

func (a *App) settings() []gmr.Setting {
	c := a.cfgPtr.Load()
	var out []gmr.Setting
	for _, e := range c.Masked() {
		g := e.Section
		if g == "DEFAULT" {
			g = ""
		}
		out = append(out, gmr.Setting{Group: g, Name: e.Option, Value: e.Value})
	}
	return out
}

func (a *App) openStores(ctx context.Context) error {
	conn := a.Cfg.Database.Connection
	if conn == "" || conn == "memory://" {
		a.Log.Info("using the in-memory store ([database] connection is not set)")
		a.Services = memstore.New(clock.Real)
		return nil
	}
	pool, err := db.OpenWith(ctx, conn, db.Options{MaxPoolSize: a.Cfg.Database.MaxPoolSize, ApplicationName: a.product})
	if err != nil {
		return err
	}
	have, err := db.Version(ctx, pool)
	if err != nil {
		pool.Close()
		return fmt.Errorf("reading the database schema version: %w", err)
	}
	want, err := db.LatestVersion()
	if err != nil {
		pool.Close()
		return err
	}
	if have < want {
		pool.Close()
		return fmt.Errorf("the database schema is at version %d, this release needs %d: run `nova-manage db sync`", have, want)
	}
	a.pool = pool
	a.Services = pgstore.New(pool)
	a.Log.Info("using Postgres", "connection", config.MaskURL(conn), "schema_version", have)
	return nil
}

// OpenTransport opens the RPC transport named by transport_url.
func (a *App) OpenTransport(ctx context.Context) error {
	c := a.Cfg
	if c.Default.TransportURL == "" {
		return &Error{Code: ExitConfig, Err: errors.New("[DEFAULT] transport_url is not set: RPC services need rabbit://user:pass@host:5672/ (or memory:// in one process)")}
	}
	tlsCfg, err := c.RabbitTLS()
	if err != nil {
		return &Error{Code: ExitConfig, Err: err}
	}
	if v := strings.ToLower(c.Rabbit.SSLVersion); c.Rabbit.SSL && v != "" && v != "sslv23" && v != "tlsv1_2" {
		a.Log.Warn("[oslo_messaging_rabbit] ssl_version is ignored: gonova speaks TLS 1.2 or later", "ssl_version", c.Rabbit.SSLVersion)
	}
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{
		TransportURL:              c.Default.TransportURL,
		TLS:                       tlsCfg,
		ControlExchange:           c.Default.ControlExchange,
		ResponseTimeout:           c.Default.RPCResponseTimeout,
		ExecutorThreadPoolSize:    c.Default.ExecutorThreadPoolSize,
		DurableQueues:             c.Rabbit.AmqpDurableQueues,
		AutoDelete:                c.Rabbit.AmqpAutoDelete,
		QuorumQueue:               c.Rabbit.RabbitQuorumQueue,
		QosPrefetchCount:          c.Rabbit.RabbitQosPrefetchCount,
		HeartbeatTimeoutThreshold: zeroIsNone(c.Rabbit.HeartbeatTimeoutThreshold),
		HeartbeatRate:             c.Rabbit.HeartbeatRate,
		KombuFailoverStrategy:     c.Rabbit.KombuFailoverStrategy,
		KombuReconnectDelay:       zeroIsNone(c.Rabbit.KombuReconnectDelay),
		KombuReconnectSplay:       c.Rabbit.KombuReconnectSplay,
		RabbitRetryInterval:       c.Rabbit.RabbitRetryInterval,
		RabbitRetryBackoff:        zeroIsNone(c.Rabbit.RabbitRetryBackoff),
		RabbitIntervalMax:         c.Rabbit.RabbitIntervalMax,
		EnableCancelOnFailover:    c.Rabbit.EnableCancelOnFailover,
		TransientQueuesTTL:        zeroIsNone(c.Rabbit.RabbitTransientQueuesTTL),
		TransientQuorumQueue:      c.Rabbit.RabbitTransientQuorumQueue,
		QuorumDeliveryLimit:       c.Rabbit.RabbitQuorumDeliveryLimit,
		QuorumMaxMemoryLength:     c.Rabbit.RabbitQuorumMaxMemoryLength,
		QuorumMaxMemoryBytes:      c.Rabbit.RabbitQuorumMaxMemoryBytes,
		HAQueues:                  c.Rabbit.RabbitHAQueues,
		StreamFanout:              c.Rabbit.RabbitStreamFanout,
		UseQueueManager:           c.Rabbit.UseQueueManager,
		Hostname:                  c.Rabbit.Hostname,
		ProcessName:               c.Rabbit.Processname,
		UnavailableTimeout:        c.Gonova.RPCUnavailableTimeout,
		UnroutableTimeout:         unroutable(c.Gonova.RPCUnroutableTimeout),
		Logger:                    a.Log,
		Registerer:                a.Metrics,
	})
	if err != nil {
		return &Error{Code: ExitTransport, Err: err}
	}
	a.Transport = tr
	return nil
}

// zeroIsNone maps an oslo option whose 0 means "none" (no heartbeat, no
// delay) to rpcsvc's spelling of it: negative (rpcsvc's 0 is its default).
func zeroIsNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// unroutable maps rpc_unroutable_timeout to rpcsvc's UnroutableTimeout,
// whose 0 means its default: the option's 0 is "do not retry".
func unroutable(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// ServiceOptions are the pkg/service options this configuration implies, for
// an RPC service with manager m.
func (a *App) ServiceOptions(binary string, m service.Manager) service.Options {
	c := a.Cfg
	popts := periodic.DefaultOptions()
	popts.Enable = c.Default.PeriodicEnable
	popts.FuzzyDelay = c.Default.PeriodicFuzzyDelay
	popts.IntervalMax = c.Default.PeriodicIntervalMax
	popts.RunExternal = c.Default.RunExternalPeriodicTasks
	create := registry.CreateOptions{DisableNewServices: !c.Default.EnableNewServices}
	return service.Options{
		Host: c.Default.Host, Binary: binary, Manager: m, Version: a.version,
		Registry: a.Services, CreateOptions: create, Transport: a.Transport,
		Join:                   a.JoinFunc(create),
		Periodic:               popts,
		ManagerShutdownTimeout: c.Gonova.ManagerShutdownTimeout,
		Logger:                 a.Log, Registerer: a.Metrics,
	}
}

// JoinFunc starts heartbeats for a service row with report_interval.
func (a *App) JoinFunc(create registry.CreateOptions) service.JoinFunc {
	return func(ctx context.Context, row registry.Service) (service.Membership, error) {
		hb, err := servicegroup.Join(a.Services, row, servicegroup.Options{
			ReportInterval: a.Cfg.Default.ReportInterval,
			CreateOptions:  create,
			Registerer:     a.Metrics,
			Logger:         a.Log,
		})
		if err != nil {
			return nil, err
		}
		return membership{hb}, nil
	}
}

type membership struct{ hb *servicegroup.Heartbeat }

func (m membership) Stop(context.Context) error { m.hb.Stop(); return nil }

// ServiceDownTime is service_down_time after nova's 2.5 x report_interval rule.
func (a *App) ServiceDownTime() time.Duration { return a.downTime }

// Pool is the Postgres pool behind the stores, or nil on the in-memory store.
// A service keeps its own tables on it (nova's compute_nodes and instances),
// so one process holds one pool, which App closes last.
func (a *App) Pool() *pgxpool.Pool { return a.pool }

// Version is the service version this process records in its rows.
func (a *App) Version() int { return a.version }

// Product is the binary's name given in Options.
func (a *App) Product() string { return a.product }

// OnReady registers f to run once every service has started.
func (a *App) OnReady(f func()) { a.onReady = append(a.onReady, f) }

// Ready reports whether every service has started and shutdown has not begun.
func (a *App) Ready() bool { return a.ready.Load() }

// Run runs services under the launcher (a ProcessLauncher when workers > 1),
// with the backdoor when backdoor_port is set and the readiness marker last,
// then closes the transport and the database pool. It returns the exit code.
func (a *App) Run(ctx context.Context, workers int, services ...launcher.Service) int {
	return a.RunGroup(ctx, workers, nil, services...)
}

// RunGroup is Run with services that run once per process group: with
// workers, the parent itself runs parent (a listener that gathers the
// workers' metrics, NewGroupMetricsService) and its readiness marker, while
// the workers run services; without workers, parent runs first, in this
// process. See launcher.Options.ParentServices.
func (a *App) RunGroup(ctx context.Context, workers int, parent []launcher.Service, services ...launcher.Service) int {
	if bp := a.Cfg.Default.BackdoorPort; bp != "" {
		p, err := backdoor.ParsePort(bp)
		if err != nil {
			a.Log.Error("bad backdoor_port", "error", err)
			return ExitConfig
		}
		// With workers, each worker opens its own backdoor (the first free
		// port of a range); one that finds the port taken by a sibling runs
		// on without it instead of crash-looping. The supervising parent
		// opens none: it would hold the single port its workers want.
		if workers <= 1 || launcher.IsWorker() {
			bd := backdoor.New(backdoor.Options{Port: p, Report: a.Reporter, Logger: a.Log, Optional: launcher.IsWorker()})
			services = append([]launcher.Service{bd}, services...)
		}
	}
	marker := &readyMarker{ready: &a.ready, onReady: a.onReady}
	if workers > 1 && !launcher.IsWorker() {
		// The parent is ready once it runs its own services and supervises.
		parent = append(slices.Clone(parent), marker)
	} else {
		services = append(services, marker)
	}
	l := launcher.New(launcher.Options{
		Logger:                  a.Log,
		GracefulShutdownTimeout: a.Cfg.Default.GracefulShutdownTimeout,
		Reload:                  a.reload,
		Reporter:                a.Reporter,
		Workers:                 workers,
		ParentServices:          parent,
	}, services...)
	err := l.Run(ctx)
	if err != nil {
		a.Log.Error("stopped with an error", "error", err)
	}
	a.Close()
	return ExitCode(err)
}

// reload is SIGHUP's configuration step: re-read the files and apply what can
// change at run time (debug).
func (a *App) reload(context.Context) error {
	nc, err := a.cfgPtr.Load().Reload()
	if err != nil {
		return fmt.Errorf("reloading the configuration (keeping the old one): %w", err)
	}
	if a.Logging.Apply(slog.LevelInfo, nc.Default.Debug) {
		a.Log.Info("log level changed by reload", "debug", nc.Default.Debug)
	}
	// Names only, never values: Changed compares the values themselves, so a
	// new password is reported as a change without being shown.
	var changed []string
	for _, name := range a.cfgPtr.Load().Changed(nc) {
		if name != "[DEFAULT] debug" {
			changed = append(changed, name)
		}
	}
	if len(changed) > 0 {
		a.Log.Warn("options changed in the files take effect at the next restart", "options", strings.Join(changed, ", "))
	}
	a.cfgPtr.Store(nc)
	return nil
}

// MaskArgs is how a binary shows command-line arguments it refuses: the
// userinfo of any URL in them masked (a misplaced transport_url must not be
// printed whole).
func MaskArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = gmr.MaskURL(a)
	}
	return out
}

// OnClose runs f when the App closes, before the transport and the
// database pool are released (in the order the calls were made): where a
// notifier or a client built on them is closed.
func (a *App) OnClose(f func()) { a.onClose = append(a.onClose, f) }

// Close runs the OnClose functions, then releases the transport and then
// the database pool, last.
func (a *App) Close() {
	for _, f := range a.onClose {
		f()
	}
	a.onClose = nil
	if a.Transport != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.Transport.Close(ctx); err != nil {
			a.Log.Warn("closing the RPC transport", "error", err)
		}
		cancel()
		a.Transport = nil
	}
	if a.pool != nil {
		a.pool.Close()
		a.pool = nil
	}
}

// readyMarker is started last and stopped first: readiness spans exactly the
// time every other service runs.
type readyMarker struct {
	ready   *atomic.Bool
	onReady []func()
	done    chan struct{}
}

func (r *readyMarker) Name() string { return "readiness" }
func (r *readyMarker) Start(context.Context) error {
	r.done = make(chan struct{})
	r.ready.Store(true)
	for _, f := range r.onReady {
		f()
	}
	return nil
}
func (r *readyMarker) Stop(context.Context) error {
	r.ready.Store(false)
	if r.done != nil {
		select {
		case <-r.done:
		default:
			close(r.done)
		}
	}
	return nil
}
func (r *readyMarker) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (r *readyMarker) Reset(context.Context) error { return nil }

// Main is the body of an RPC binary's main: parse args as nova.conf options,
// build the App, open the transport, let build make the services the binary
// runs, and run them under the launcher. It returns the process's exit code,
// which says what failed (see ExitOK and the codes after it).
func Main(args []string, o Options, build func(a *App) ([]launcher.Service, error)) int {
	ctx := context.Background()
	a, err := New(ctx, args, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.Product, err)
		return ExitCode(err)
	}
	if err := a.OpenTransport(ctx); err != nil {
		a.Log.Error("opening the RPC transport", "error", err)
		a.Close()
		return ExitCode(err)
	}
	svcs, err := build(a)
	if err != nil {
		a.Log.Error("building the services", "error", err)
		a.Close()
		return ExitCode(err)
	}
	return a.Run(ctx, 1, svcs...)
}
