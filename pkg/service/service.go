package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// Membership is a joined service group: heartbeats run until Stop.
type Membership interface {
	Stop(ctx context.Context) error
}

// JoinFunc joins the service group for the service's row and starts its
// heartbeats (nova's servicegroup_api.join).
type JoinFunc func(ctx context.Context, svc registry.Service) (Membership, error)

// Options configure a Service. Create fills nova's defaults for what is unset.
type Options struct {
	// Host is [DEFAULT] host; default: the machine's hostname.
	Host string
	// Binary is the service's binary name; default: the base name of argv[0].
	Binary string
	// Topic is the RPC topic; default: Binary without its "nova-" prefix.
	Topic string
	// Manager serves the topic. Required: build it in main and pass it here
	// (nova names a class in <topic>_manager; Go passes the value).
	Manager Manager
	// Version is the service version recorded in the services row.
	Version int
	// VersionString is logged at start ("Starting compute node (version ...)").
	VersionString string

	// Registry keeps the services row.
	Registry registry.Store
	// CreateOptions apply when the row is created (enable_new_services).
	CreateOptions registry.CreateOptions
	// Join starts heartbeats; nil means none (for tests of the start order).
	Join JoinFunc

	// Transport carries RPC; nil means the service serves no RPC.
	Transport *rpcsvc.Transport
	// BackdoorPort is what baseapi.get_backdoor_port answers (0: none).
	BackdoorPort int

	// Periodic configures periodic tasks (periodic_enable,
	// periodic_fuzzy_delay, periodic_interval_max, run_external_periodic_tasks).
	Periodic periodic.Options
	// ManagerShutdownTimeout bounds Manager.Shutdown at stop
	// ([gonova] manager_shutdown_timeout); 0 means only the Stop context.
	ManagerShutdownTimeout time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Service runs one Manager as a nova RPC service. Create one with Create.
type Service struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	state    state
	row      registry.Service
	server   *rpcsvc.Server
	member   Membership
	runner   *periodic.Runner
	done     chan struct{}
	stopErr  error
	stopOnce sync.Once

	// What Start brought up, each with how to undo it; a zero undoStep is a
	// step that did not run or was undone already. Rollback takes them in
	// reverse start order; Stop takes undoRPC first, then the others.
	undoRPC, undoHeartbeats, undoPeriodic undoStep
}

type state int

const (
	stateNew state = iota
	stateStarting
	stateRunning
	stateStopping
	stateStopped
)

// undoStep undoes one start step; name is for the logs.
type undoStep struct {
	name string
	fn   func(ctx context.Context) error
}

// Create returns a Service with nova's defaults applied.
func Create(o Options) (*Service, error) {
	if o.Host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return nil, fmt.Errorf("service: no host configured and the hostname is unknown: %v", err)
		}
		o.Host = h
	}
	if o.Binary == "" {
		o.Binary = filepath.Base(os.Args[0])
	}
	if o.Topic == "" {
		o.Topic = strings.TrimPrefix(o.Binary, "nova-")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		return nil, errors.New("service: Options.Registry is required (the services table)")
	}
	if o.Manager == nil {
		return nil, fmt.Errorf("service: Options.Manager is required (the manager serving topic %q)", o.Topic)
	}
	return &Service{
		opts: o,
		log:  o.Logger.With("binary", o.Binary, "host", o.Host, "topic", o.Topic),
		done: make(chan struct{}),
	}, nil
}

// Name is the service's name for the launcher's logs: the binary.
func (s *Service) Name() string { return s.opts.Binary }

// Host, Binary and Topic are the service's identity.
func (s *Service) Host() string   { return s.opts.Host }
func (s *Service) Binary() string { return s.opts.Binary }
func (s *Service) Topic() string  { return s.opts.Topic }

// Row returns the services row found or created at start.
func (s *Service) Row() registry.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.row
}

// Start brings the service up in nova's order (see the package doc). It
// returns once every step has finished; on error, the steps done are undone.
func (s *Service) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return fmt.Errorf("service %s: Start called twice", s.opts.Binary)
	}
	s.state = stateStarting
	s.mu.Unlock()

	defer func() {
		if err != nil {
			// Roll back with a fresh deadline: ctx may be the cancelled one.
			rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout(s.opts))
			defer cancel()
			if rerr := s.rollback(rbCtx); rerr != nil {
				s.log.Error("rolling back a failed start", "error", rerr)
			}
			s.mu.Lock()
			s.state = stateStopped
			s.mu.Unlock()
			s.stopOnce.Do(func() { close(s.done) })
		}
	}()

	step := func(name string, fn func() error) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("service %s: start interrupted before %s: %w", s.opts.Binary, name, err)
		}
		s.log.Debug("start step", "step", name)
		if err := fn(); err != nil {
			return fmt.Errorf("service %s: %s: %w", s.opts.Binary, name, err)
		}
		return nil
	}

	s.log.Info(fmt.Sprintf("Starting %s node (version %s)", s.opts.Topic, versionString(s.opts)))
	if err := step("basic config check", s.basicConfigCheck); err != nil {
		return err
	}
	if err := step("init host", func() error { return s.opts.Manager.InitHost(ctx) }); err != nil {
		return err
	}
	if err := step("find or create the service row", func() error { return s.ensureRow(ctx) }); err != nil {
		return err
	}
	if err := step("pre-start hook", func() error { return s.opts.Manager.PreStartHook(ctx, s.Row()) }); err != nil {
		return err
	}
	if s.opts.Transport != nil {
		if err := step("start the RPC server", func() error { return s.startRPC(ctx) }); err != nil {
			return err
		}
	}
	if err := step("post-start hook", func() error { return s.opts.Manager.PostStartHook(ctx) }); err != nil {
		return err
	}
	if s.opts.Join != nil {
		if err := step("join the service group", func() error { return s.join(ctx) }); err != nil {
			return err
		}
	}
	if err := step("start periodic tasks", func() error { return s.startPeriodic(ctx) }); err != nil {
		return err
	}

	s.mu.Lock()
	s.state = stateRunning
	s.mu.Unlock()
	s.log.Info("service started", "service_id", s.Row().ID)
	return nil
}

func rollbackTimeout(o Options) time.Duration {
	if o.ManagerShutdownTimeout > 0 {
		return o.ManagerShutdownTimeout
	}
	return 30 * time.Second
}

func versionString(o Options) string {
	if o.VersionString != "" {
		return o.VersionString
	}
	return fmt.Sprint(o.Version)
}

func (s *Service) basicConfigCheck() error {
	var problems []string
	if s.opts.Host == "" {
		problems = append(problems, "host is empty")
	}
	if s.opts.Topic == "" {
		problems = append(problems, "topic is empty")
	}
	if s.opts.Transport == nil && len(s.opts.Manager.Endpoints()) > 0 {
		problems = append(problems, "the manager serves RPC endpoints but no transport is configured (transport_url)")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (s *Service) ensureRow(ctx context.Context) error {
	row, created, err := registry.FindOrCreate(ctx, s.opts.Registry, registry.NewService{
		Host: s.opts.Host, Binary: s.opts.Binary, Topic: s.opts.Topic, Version: s.opts.Version,
	}, s.opts.CreateOptions)
	if err != nil {
		return err
	}
	if row.Version != s.opts.Version {
		v := s.opts.Version
		if row, err = s.opts.Registry.Update(ctx, row.ID, registry.Update{Version: &v}); err != nil {
			return fmt.Errorf("recording service version %d: %w", v, err)
		}
	}
	s.log.Info("service row ready", "service_id", row.ID, "uuid", row.UUID, "created", created, "disabled", row.Disabled)
	s.mu.Lock()
	s.row = row
	s.mu.Unlock()
	return nil
}

func (s *Service) startRPC(ctx context.Context) error {
	endpoints := append([]rpcsvc.Endpoint{}, s.opts.Manager.Endpoints()...)
	endpoints = append(endpoints, rpcsvc.Endpoint{
		Namespace: BaseAPINamespace, Version: BaseAPIVersion,
		Impl: &BaseAPI{ServiceName: s.opts.Topic, BackdoorPort: s.opts.BackdoorPort},
	})
	srv, err := rpcsvc.NewServer(s.opts.Transport, rpcsvc.ServerConfig{
		Target:    rpcsvc.Target{Topic: s.opts.Topic, Server: s.opts.Host},
		Endpoints: endpoints,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.server = srv
	s.mu.Unlock()
	s.setUndo(&s.undoRPC, undoStep{name: "stop the RPC server", fn: srv.Stop})
	return nil
}

func (s *Service) join(ctx context.Context) error {
	m, err := s.opts.Join(ctx, s.Row())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.member = m
	s.mu.Unlock()
	s.setUndo(&s.undoHeartbeats, undoStep{name: "stop heartbeats", fn: m.Stop})
	return nil
}

func (s *Service) startPeriodic(ctx context.Context) error {
	var ts periodic.Tasks
	s.opts.Manager.PeriodicTasks(&ts)
	if ts.Len() == 0 || !s.opts.Periodic.Enable {
		s.log.Info("no periodic tasks to run", "tasks", ts.Len(), "periodic_enable", s.opts.Periodic.Enable)
		return nil
	}
	popts := s.opts.Periodic
	if popts.Logger == nil {
		popts.Logger = s.log
	}
	reg := s.opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // metrics kept private when the caller exports none
	}
	r, err := ts.Setup(reg, popts)
	if err != nil {
		return err
	}
	// The tasks' context must outlive Start's ctx, which ends when start-up does.
	if err := r.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	s.mu.Lock()
	s.runner = r
	s.mu.Unlock()
	s.setUndo(&s.undoPeriodic, undoStep{name: "stop periodic tasks", fn: r.Stop})
	return nil
}

// setUndo records how to undo a start step that has succeeded.
func (s *Service) setUndo(slot *undoStep, u undoStep) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*slot = u
}

// takeUndo returns the undo steps of slots in that order, skipping those
// that did not run, and clears them so that each runs once.
func (s *Service) takeUndo(slots ...*undoStep) []undoStep {
	s.mu.Lock()
	defer s.mu.Unlock()
	var steps []undoStep
	for _, slot := range slots {
		if slot.fn != nil {
			steps = append(steps, *slot)
		}
		*slot = undoStep{}
	}
	return steps
}

// runUndo runs steps in order, logging each, and joins their errors.
func (s *Service) runUndo(ctx context.Context, steps []undoStep) error {
	var errs []error
	for _, u := range steps {
		s.log.Info("stop step", "step", u.name)
		if err := u.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
	}
	return errors.Join(errs...)
}

// rollback undoes every step Start did, in reverse start order.
func (s *Service) rollback(ctx context.Context) error {
	return s.runUndo(ctx, s.takeUndo(&s.undoPeriodic, &s.undoHeartbeats, &s.undoRPC))
}

// Stop stops the service gracefully (see the package doc): RPC consumption
// first, then the manager's in-flight work, then periodic tasks, then
// heartbeats. ctx bounds the whole stop. Stop is idempotent.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	switch s.state {
	case stateStopping, stateStopped:
		s.mu.Unlock()
		<-s.done
		return s.stopErr
	}
	s.state = stateStopping
	s.mu.Unlock()
	s.log.Info("stopping service")

	// Undo in this order: RPC server, then the manager, then periodic tasks and
	// heartbeats. The RPC server started before both, so it goes out of the
	// reverse order.
	var errs []error
	for _, u := range s.takeUndo(&s.undoRPC) {
		if err := u.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
	}
	mctx, cancel := ctx, context.CancelFunc(func() {})
	if s.opts.ManagerShutdownTimeout > 0 {
		mctx, cancel = context.WithTimeout(ctx, s.opts.ManagerShutdownTimeout)
	}
	if err := s.opts.Manager.Shutdown(mctx); err != nil {
		errs = append(errs, fmt.Errorf("manager shutdown: %w", err))
	}
	cancel()
	if err := s.runUndo(ctx, s.takeUndo(&s.undoPeriodic, &s.undoHeartbeats)); err != nil {
		errs = append(errs, err)
	}

	s.mu.Lock()
	s.state = stateStopped
	s.stopErr = errors.Join(errs...)
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.done) })
	s.log.Info("service stopped", "error", s.stopErr)
	return s.stopErr
}

// Wait blocks until the service has stopped (or its start failed), or until
// ctx ends. A Service does not end on its own: it runs until Stop.
func (s *Service) Wait(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Report writes the service's state for the Guru Meditation Report.
func (s *Service) Report(w io.Writer) error {
	s.mu.Lock()
	row, st, srv, runner := s.row, s.state, s.server != nil, s.runner
	s.mu.Unlock()
	names := []string{"new", "starting", "running", "stopping", "stopped"}
	_, err := fmt.Fprintf(w, "binary: %s\nhost: %s\ntopic: %s\nstate: %s\nservice_id: %d\nservice_uuid: %s\ndisabled: %v\nrpc_server: %v\n",
		s.opts.Binary, s.opts.Host, s.opts.Topic, names[st], row.ID, row.UUID, row.Disabled, srv)
	if err == nil && runner != nil {
		_, err = fmt.Fprintf(w, "periodic_tasks: %s\n", strings.Join(runner.TaskNames(), ", "))
	}
	return err
}

// Done is closed when the service has stopped.
func (s *Service) Done() <-chan struct{} { return s.done }

// Reset is SIGHUP's hook: the manager re-reads what it can change at run time.
func (s *Service) Reset(ctx context.Context) error {
	return s.opts.Manager.Reset(ctx)
}
