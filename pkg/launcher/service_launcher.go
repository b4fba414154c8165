package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

type state int

const (
	statePending state = iota
	stateStarting
	stateRunning
	stateFailed
	stateStopping
	stateStopped
	stateStopFailed // Stop returned after its deadline: still stopping for all we know
)

func (s state) String() string {
	return [...]string{"pending", "starting", "running", "failed", "stopping", "stopped", "stop timed out"}[s]
}

type entry struct {
	svc   Service
	state state
	since time.Time
}

// ServiceLauncher runs several services in this process: started in order,
// stopped in reverse order. It handles SIGTERM and SIGINT (graceful stop),
// SIGHUP (reload and reset) and SIGUSR2 (report), and tells systemd READY=1
// once every service has started and STOPPING=1 when it stops.
type ServiceLauncher struct {
	opts    Options
	log     *slog.Logger
	ran     atomic.Bool
	mu      sync.Mutex
	entries []*entry
}

// NewServiceLauncher returns a launcher for services, in start order.
//
//	l := launcher.NewServiceLauncher(launcher.Options{GracefulShutdownTimeout: 3 * time.Minute}, db, rpc, api)
//	err := l.Run(ctx) // blocks until SIGTERM, then stops api, rpc, db
func NewServiceLauncher(opts Options, services ...Service) *ServiceLauncher {
	opts = opts.withDefaults()
	l := &ServiceLauncher{opts: opts, log: opts.Logger}
	for _, s := range services {
		l.entries = append(l.entries, &entry{svc: s})
	}
	return l
}

type exitEvent struct {
	e   *entry
	err error
}

// Run starts the services and blocks until they are stopped. See Launcher.
//
// It has three phases, each a method of serviceRun: start (the services in
// order, in the background, rolled back by the shutdown if one fails), wait
// for a stop cause (a signal, a failed start, a service ending, the parent
// dying, ctx), then shut down (the services in reverse order, under a fresh
// deadline).
func (l *ServiceLauncher) Run(ctx context.Context) error {
	if !l.ran.CompareAndSwap(false, true) {
		return errors.New("launcher: Run called twice")
	}
	worker, err := currentWorker()
	if err != nil {
		return err
	}
	sigs, releaseSignals := l.opts.signals()
	defer releaseSignals()
	defer l.registerReport()()

	for _, e := range l.entries {
		if err := bind(ctx, e.svc); err != nil {
			return err
		}
	}
	r := l.start(ctx, worker, sigs)
	defer r.release()
	cause := r.waitForStop()
	return r.shutdown(cause)
}

// serviceRun is the state one ServiceLauncher.Run shares between its phases.
type serviceRun struct {
	l      *ServiceLauncher
	ctx    context.Context // Run's
	sigs   <-chan os.Signal
	worker *workerInfo // nil unless this process is a ProcessLauncher worker

	// runCtx, ended by cancelRun, ends the helpers (waiters, watchdog,
	// parent check), which bg tracks.
	runCtx     context.Context
	cancelRun  context.CancelFunc
	bg         sync.WaitGroup
	parentGone <-chan struct{}

	cancelStart context.CancelFunc // cancels start-up
	startDone   <-chan error       // startAll's result; nil once received
	exited      chan exitEvent     // a started service ended on its own

	reloadCtx    context.Context
	cancelReload context.CancelFunc
	reloadReq    chan struct{} // one pending SIGHUP
	reloadDone   chan struct{} // closed when the reload loop ends; nil until it runs
}

// start starts the helpers and, in the background, the services in order;
// it returns at once. waitForStop receives start-up's result.
func (l *ServiceLauncher) start(ctx context.Context, worker *workerInfo, sigs <-chan os.Signal) *serviceRun {
	r := &serviceRun{l: l, ctx: ctx, sigs: sigs, worker: worker}
	r.runCtx, r.cancelRun = context.WithCancel(ctx)
	startWatchdog(r.runCtx, l.log, &r.bg)
	r.parentGone = worker.watchParent(r.runCtx, l.opts.ParentCheckInterval, &r.bg)

	startCtx, cancelStart := context.WithCancel(ctx)
	r.cancelStart = cancelStart
	r.exited = make(chan exitEvent, len(l.entries))
	startDone := make(chan error, 1)
	r.startDone = startDone
	go func() { startDone <- l.startAll(startCtx, r.runCtx, r.exited, &r.bg) }()

	r.reloadCtx, r.cancelReload = context.WithCancel(r.runCtx)
	r.reloadReq = make(chan struct{}, 1)
	return r
}

// release ends what start began, once Run returns.
func (r *serviceRun) release() {
	r.cancelReload()
	r.cancelStart()
	r.cancelRun()
}

// waitForStop serves SIGHUP and SIGUSR2 until a cause to stop: a stop
// signal, a failed start-up, a service ending on its own, the parent dying or
// ctx ending. It returns the cause's error for Run's (nil for a signal, the
// parent or ctx).
func (r *serviceRun) waitForStop() error {
	l := r.l
	for {
		select {
		case err := <-r.startDone:
			r.startDone = nil
			if err != nil {
				l.log.Error("start-up failed", "err", err)
				return err
			}
			r.started()
		case sig := <-r.sigs:
			if r.onSignal(sig) {
				return nil
			}
		case ev := <-r.exited:
			if ev.err != nil {
				l.log.Error("service ended on its own, stopping", "service", ev.e.svc.Name(), "err", ev.err)
				return fmt.Errorf("service %s ended: %w", ev.e.svc.Name(), ev.err)
			}
			l.log.Warn("service ended on its own, stopping", "service", ev.e.svc.Name())
			return nil
		case <-r.parentGone:
			l.log.Warn("parent process died, stopping", "parent_pid", r.worker.parentPID)
			return nil
		case <-r.ctx.Done():
			l.log.Info("context ended, stopping", "cause", context.Cause(r.ctx))
			return nil
		}
	}
}

// started reports readiness once every service has started, and begins
// serving reloads.
func (r *serviceRun) started() {
	l := r.l
	l.log.Info("all services started", "services", len(l.entries))
	sdNotify(l.log, daemon.SdNotifyReady)
	r.worker.signalReady(l.log)
	done := make(chan struct{})
	r.reloadDone = done
	go func() {
		defer close(done)
		l.reloadLoop(r.reloadCtx, r.reloadReq)
	}()
}

// onSignal handles a signal while running and reports whether it is a stop
// signal.
func (r *serviceRun) onSignal(sig os.Signal) (stop bool) {
	l := r.l
	switch {
	case isStopSignal(sig):
		l.log.Info("caught signal, stopping", "signal", sig.String())
		return true
	case sig == syscall.SIGHUP:
		if r.startDone != nil {
			l.log.Warn("SIGHUP during start-up ignored")
			return false
		}
		select {
		case r.reloadReq <- struct{}{}:
		default:
			l.log.Info("SIGHUP: a reload is already pending")
		}
	case sig == syscall.SIGUSR2:
		l.writeReport()
	}
	return false
}

// shutdown stops start-up and reloads, then stops the started services in
// reverse order under a deadline from a fresh context: Run's ctx may be the
// one that just ended. It returns cause joined with the stop errors, or
// early, with a ShutdownTimeoutError or ErrSecondSignal, when the deadline
// passes or a second stop signal comes; the services still stopping then
// finish in the background, their late errors dropped.
func (r *serviceRun) shutdown(cause error) error {
	l := r.l
	sdNotify(l.log, daemon.SdNotifyStopping)
	r.cancelStart()
	r.cancelReload()
	timeout := l.opts.GracefulShutdownTimeout
	stopCtx, cancelStop := shutdownContext(r.ctx, timeout)
	defer cancelStop()
	l.log.Info("stopping services", "graceful_shutdown_timeout", timeout)

	// Buffered, so that stopAll finishing after Run gave up does not block.
	stopped := make(chan error, 1)
	startDone, reloadDone := r.startDone, r.reloadDone
	go func() {
		if startDone != nil {
			<-startDone // Start was cancelled; wait for it to give up
		}
		if reloadDone != nil {
			<-reloadDone
		}
		stopped <- l.stopAll(stopCtx)
	}()
	return r.waitStopped(stopCtx, stopped, cause)
}

// waitStopped waits for stopAll's result on stopped, serving SIGUSR2, until
// stopCtx's deadline or a second stop signal.
func (r *serviceRun) waitStopped(stopCtx context.Context, stopped <-chan error, cause error) error {
	l := r.l
	timeout := l.opts.GracefulShutdownTimeout
	for {
		select {
		case err := <-stopped:
			if names := l.unfinished(); len(names) > 0 {
				l.log.Error("graceful shutdown timed out", "timeout", timeout, "still_stopping", names)
				return errors.Join(cause, &ShutdownTimeoutError{Timeout: timeout, Services: names})
			}
			r.cancelRun()
			r.bg.Wait()
			if err != nil {
				l.log.Error("services stopped with errors", "err", err)
			} else {
				l.log.Info("all services stopped")
			}
			return errors.Join(cause, err)
		case <-stopCtx.Done():
			names := l.unfinished()
			l.log.Error("graceful shutdown timed out, exiting", "timeout", timeout, "still_stopping", names)
			return errors.Join(cause, &ShutdownTimeoutError{Timeout: timeout, Services: names})
		case sig := <-r.sigs:
			switch {
			case isStopSignal(sig):
				l.log.Error("second signal, exiting at once", "signal", sig.String(), "still_stopping", l.unfinished())
				return errors.Join(cause, ErrSecondSignal)
			case sig == syscall.SIGUSR2:
				l.writeReport()
			default:
				l.log.Info("signal ignored while stopping", "signal", sig.String())
			}
		}
	}
}

// shutdownContext returns the context bounding a shutdown: ctx's values
// without its cancellation, ended after timeout (never, when timeout is 0).
func shutdownContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx = context.WithoutCancel(ctx)
	if timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	return ctx, func() {}
}

// bind binds svc's listeners when it is a Binder.
func bind(ctx context.Context, svc Service) error {
	if b, ok := svc.(Binder); ok {
		if err := b.Bind(ctx); err != nil {
			return &StartError{Service: svc.Name(), Err: fmt.Errorf("bind: %w", err)}
		}
	}
	return nil
}

// startAll starts the services in order and, for each one started, watches
// for it ending on its own until runCtx ends.
func (l *ServiceLauncher) startAll(ctx, runCtx context.Context, exited chan<- exitEvent, bg *sync.WaitGroup) error {
	for _, e := range l.entries {
		name := e.svc.Name()
		if err := context.Cause(ctx); err != nil {
			return &StartError{Service: name, Err: fmt.Errorf("not started: %w", err)}
		}
		l.setState(e, stateStarting)
		l.log.Info("starting service", "service", name)
		t0 := time.Now()
		if err := e.svc.Start(ctx); err != nil {
			l.setState(e, stateFailed)
			return &StartError{Service: name, Err: err}
		}
		l.setState(e, stateRunning)
		l.log.Info("service started", "service", name, "duration", time.Since(t0))
		bg.Go(func() {
			err := e.svc.Wait(runCtx)
			if runCtx.Err() == nil {
				exited <- exitEvent{e: e, err: err} // buffered: one per service
			}
		})
	}
	return nil
}

// stopAll stops the running services in reverse order; every service is
// asked to stop even when an earlier one failed or the deadline passed.
func (l *ServiceLauncher) stopAll(ctx context.Context) error {
	var errs []error
	for i := len(l.entries) - 1; i >= 0; i-- {
		e := l.entries[i]
		if l.stateOf(e) != stateRunning {
			continue
		}
		name := e.svc.Name()
		l.setState(e, stateStopping)
		l.log.Info("stopping service", "service", name)
		t0 := time.Now()
		err := e.svc.Stop(ctx)
		if err != nil {
			if ctx.Err() != nil {
				l.setState(e, stateStopFailed)
			} else {
				l.setState(e, stateStopped)
			}
			l.log.Error("service stopped with error", "service", name, "err", err, "duration", time.Since(t0))
			errs = append(errs, fmt.Errorf("stop %s: %w", name, err))
			continue
		}
		l.setState(e, stateStopped)
		l.log.Info("service stopped", "service", name, "duration", time.Since(t0))
	}
	return errors.Join(errs...)
}

// reloadLoop serves SIGHUPs one at a time: reload the configuration, then
// reset every running service.
func (l *ServiceLauncher) reloadLoop(ctx context.Context, req <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-req:
		}
		l.log.Info("SIGHUP: reloading configuration and resetting services")
		t0 := time.Now()
		if l.opts.Reload != nil {
			if err := l.opts.Reload(ctx); err != nil {
				l.log.Error("reloading configuration failed", "err", err)
			}
		}
		for _, e := range l.entries {
			if ctx.Err() != nil {
				return
			}
			if l.stateOf(e) != stateRunning {
				continue
			}
			if err := e.svc.Reset(ctx); err != nil {
				l.log.Error("service reset failed", "service", e.svc.Name(), "err", err)
			}
		}
		l.log.Info("reload done", "duration", time.Since(t0))
	}
}

// unfinished names the services that have not finished stopping.
func (l *ServiceLauncher) unfinished() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for i := len(l.entries) - 1; i >= 0; i-- {
		switch e := l.entries[i]; e.state {
		case stateStarting, stateRunning, stateStopping, stateStopFailed:
			names = append(names, e.svc.Name())
		}
	}
	return names
}

func (l *ServiceLauncher) setState(e *entry, s state) {
	l.mu.Lock()
	e.state, e.since = s, time.Now()
	l.mu.Unlock()
}

func (l *ServiceLauncher) stateOf(e *entry) state {
	l.mu.Lock()
	defer l.mu.Unlock()
	return e.state
}

func (l *ServiceLauncher) registerReport() (unregister func()) {
	r := l.opts.Reporter
	unregs := []func(){r.Register("Services", func(w io.Writer) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if idx, ok := WorkerIndex(); ok {
			fmt.Fprintf(w, "worker = %d\n", idx)
		}
		for _, e := range l.entries {
			since := ""
			if !e.since.IsZero() {
				since = " since " + e.since.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s: %s%s\n", e.svc.Name(), e.state, since)
		}
		return nil
	})}
	for _, e := range l.entries {
		if rep, ok := e.svc.(Reporter); ok {
			unregs = append(unregs, r.Register(e.svc.Name(), rep.Report))
		}
	}
	return func() {
		for _, u := range unregs {
			u()
		}
	}
}

func (l *ServiceLauncher) writeReport() {
	l.log.Info("SIGUSR2: writing Guru Meditation Report")
	if _, err := l.opts.Reporter.WriteTo(l.opts.ReportOutput); err != nil {
		l.log.Error("writing report failed", "err", err)
	}
}
