package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/coreos/go-systemd/v22/daemon"
)

// ProcessLauncher is the parent of Workers worker processes running this
// same program. It binds the listening sockets (see Listen and Binder) and
// passes them to every worker, so workers share each port; re-spawns a
// worker that dies, with backoff; forwards SIGTERM, SIGINT and SIGHUP to the
// workers; and tells systemd READY=1 once every worker has started its
// services.
//
// Workers end when the parent dies: Linux delivers SIGTERM to them
// (Pdeathsig), and each worker also checks its parent pid.
type ProcessLauncher struct {
	opts     Options
	log      *slog.Logger
	services []Service
	ran      atomic.Bool

	mu    sync.Mutex
	slots []*slot
}

type slot struct {
	index     int
	pid       int // 0 when not running
	started   time.Time
	ready     bool
	spawns    int
	nextStart time.Time // when to (re)spawn; zero while running or stopping
	lastExit  string
	backoff   *backoff.ExponentialBackOff
}

// NewProcessLauncher returns a parent for opts.Workers workers. The
// services are not started in the parent; those implementing Binder are
// bound, so that their sockets are passed to the workers.
func NewProcessLauncher(opts Options, services ...Service) *ProcessLauncher {
	opts = opts.withDefaults()
	opts.Workers = max(opts.Workers, 1)
	p := &ProcessLauncher{opts: opts, log: opts.Logger, services: services}
	for i := range opts.Workers {
		bo := backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(opts.RespawnDelay),
			backoff.WithMaxInterval(opts.RespawnMaxDelay),
			backoff.WithMultiplier(2),
			backoff.WithRandomizationFactor(0.1),
			backoff.WithMaxElapsedTime(0),
		)
		p.slots = append(p.slots, &slot{index: i, backoff: bo})
	}
	return p
}

type procEvent struct {
	slot  *slot
	pid   int
	ready bool  // the worker started its services
	err   error // exit status, when !ready
}

// Run starts the workers and supervises them until a stop signal or ctx's
// end, then stops them. See Launcher.
//
// It has three phases: start (bind the sockets the workers inherit), then
// supervise (spawn the workers, re-spawn dead ones, pass SIGHUP on) until a
// stop cause (a stop signal or ctx), then shut down (SIGTERM to every worker,
// under a deadline; SIGKILL to those left).
func (p *ProcessLauncher) Run(ctx context.Context) error {
	if !p.ran.CompareAndSwap(false, true) {
		return errors.New("launcher: Run called twice")
	}
	// Pdeathsig fires when the thread that forked a child exits, not the
	// process: fork every worker from this one locked thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	sigs, releaseSignals := p.opts.signals()
	defer releaseSignals()
	defer p.opts.Reporter.Register("Workers", p.report)()

	for _, s := range p.services {
		if err := bind(ctx, s); err != nil {
			return err
		}
	}
	names, files, err := p.opts.Sockets.files()
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
		p.opts.Sockets.Close()
	}()

	stopParent, err := p.startParentServices(ctx)
	if err != nil {
		return err
	}
	r := p.start(ctx, sigs, names, files)
	defer r.stopEvents()
	r.supervise()
	err = r.shutdown()
	return errors.Join(err, stopParent())
}

// startParentServices starts Options.ParentServices in order, undoing those
// started when one fails, and returns what stops them in reverse, each under
// a fresh GracefulShutdownTimeout.
func (p *ProcessLauncher) startParentServices(ctx context.Context) (stop func() error, err error) {
	var started []Service
	stop = func() error {
		var errs []error
		for i := len(started) - 1; i >= 0; i-- {
			s := started[i]
			sctx, cancel := shutdownContext(ctx, p.opts.GracefulShutdownTimeout)
			if err := s.Stop(sctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", s.Name(), err))
			}
			cancel()
		}
		return errors.Join(errs...)
	}
	for _, s := range p.opts.ParentServices {
		if err := s.Start(ctx); err != nil {
			_ = stop()
			return nil, &StartError{Service: s.Name(), Err: err}
		}
		p.log.Info("parent service started", "service", s.Name())
		started = append(started, s)
	}
	return stop, nil
}

// processRun is the state one ProcessLauncher.Run shares between its phases.
type processRun struct {
	p     *ProcessLauncher
	ctx   context.Context // Run's
	sigs  <-chan os.Signal
	names []string   // the listeners' names, in files' order
	files []*os.File // the listeners the workers inherit

	// runCtx, ended by cancelRun, ends the watchdog; bg tracks it and the
	// goroutines waiting on each worker.
	runCtx    context.Context
	cancelRun context.CancelFunc
	bg        sync.WaitGroup

	events  chan procEvent
	abandon chan struct{} // closed when Run is done with events: senders give up
	// stopEvents ends the watchdog and makes the event senders give up (a
	// worker's ready event may still be on its way after its exit was
	// handled). It runs once, at the end of a clean shutdown or of Run.
	stopEvents func()

	forks         []time.Time // the last len(slots) fork times, for throttling
	readyNotified bool
}

// start prepares the supervision: the watchdog runs, every worker is due to
// be spawned now.
func (p *ProcessLauncher) start(ctx context.Context, sigs <-chan os.Signal, names []string, files []*os.File) *processRun {
	r := &processRun{p: p, ctx: ctx, sigs: sigs, names: names, files: files}
	r.runCtx, r.cancelRun = context.WithCancel(ctx)
	startWatchdog(r.runCtx, p.log, &r.bg)
	r.events = make(chan procEvent)
	r.abandon = make(chan struct{})
	r.stopEvents = sync.OnceFunc(func() { r.cancelRun(); close(r.abandon) })

	p.log.Info("starting workers", "workers", len(p.slots), "listeners", names)
	now := time.Now()
	for _, s := range p.slots {
		s.nextStart = now
	}
	return r
}

// supervise spawns the workers when they are due, records their events and
// serves SIGHUP and SIGUSR2, until a stop signal or ctx's end.
func (r *processRun) supervise() {
	p := r.p
	spawnTimer := time.NewTimer(time.Hour)
	defer spawnTimer.Stop()
	for {
		// Since Go 1.23, Reset and Stop leave no stale value in the channel.
		var timer <-chan time.Time
		if next, ok := p.nextDue(); ok {
			spawnTimer.Reset(time.Until(next))
			timer = spawnTimer.C
		} else {
			spawnTimer.Stop()
		}
		select {
		case <-timer:
			r.spawnDue(time.Now())
		case ev := <-r.events:
			if p.handle(ev, true) && !r.readyNotified && p.allReady() {
				r.readyNotified = true
				p.log.Info("all workers started")
				sdNotify(p.log, daemon.SdNotifyReady)
			}
		case sig := <-r.sigs:
			if r.onSignal(sig) {
				return
			}
		case <-r.ctx.Done():
			p.log.Info("context ended, stopping workers", "cause", context.Cause(r.ctx))
			return
		}
	}
}

// spawnDue spawns the workers due by now, throttled as oslo throttles forks:
// at most len(slots) forks in len(slots) fork intervals.
func (r *processRun) spawnDue(now time.Time) {
	p := r.p
	for _, s := range p.slots {
		if s.nextStart.IsZero() || s.nextStart.After(now) {
			continue
		}
		if len(r.forks) == len(p.slots) {
			window := time.Duration(len(p.slots)) * p.opts.ForkInterval
			if allowed := r.forks[0].Add(window); allowed.After(now) {
				p.log.Info("forking too fast, waiting", "worker", s.index, "wait", allowed.Sub(now).Round(time.Millisecond))
				p.setNext(s, allowed)
				continue
			}
			r.forks = r.forks[1:]
		}
		r.forks = append(r.forks, now)
		p.spawn(s, r.names, r.files, r.events, r.abandon, &r.bg)
	}
}

// onSignal handles a signal while supervising and reports whether it is a
// stop signal. SIGHUP reloads the parent's configuration and is passed on to
// every worker.
func (r *processRun) onSignal(sig os.Signal) (stop bool) {
	p := r.p
	switch {
	case isStopSignal(sig):
		p.log.Info("caught signal, stopping workers", "signal", sig.String())
		return true
	case sig == syscall.SIGHUP:
		p.log.Info("SIGHUP: reloading configuration and passing it to workers")
		if p.opts.Reload != nil {
			if err := p.opts.Reload(r.runCtx); err != nil {
				p.log.Error("reloading configuration failed", "err", err)
			}
		}
		p.signalAll(syscall.SIGHUP)
	case sig == syscall.SIGUSR2:
		p.writeReport()
	}
	return false
}

// spawn starts the worker of slot s.
func (p *ProcessLauncher) spawn(s *slot, names []string, files []*os.File, events chan<- procEvent, abandon <-chan struct{}, bg *sync.WaitGroup) {
	fail := func(err error) {
		d := s.backoff.NextBackOff()
		p.log.Error("cannot start worker, retrying", "worker", s.index, "err", err, "retry_in", d)
		p.setNext(s, time.Now().Add(d))
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		fail(err)
		return
	}
	cmd := p.opts.Command()
	cmd.Env = workerEnv(cmd.Env, s.index, names, len(files))
	cmd.ExtraFiles = append(slices.Clone(files), readyW)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setPdeathsig(cmd.SysProcAttr)
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		readyR.Close()
		fail(err)
		return
	}
	pid := cmd.Process.Pid
	p.mu.Lock()
	s.pid, s.started, s.ready, s.nextStart = pid, time.Now(), false, time.Time{}
	s.spawns++
	p.mu.Unlock()
	p.log.Info("worker started", "worker", s.index, "pid", pid)

	send := func(ev procEvent) {
		select {
		case events <- ev:
		case <-abandon:
		}
	}
	bg.Go(func() {
		defer readyR.Close()
		var b [1]byte
		if n, _ := readyR.Read(b[:]); n == 1 {
			send(procEvent{slot: s, pid: pid, ready: true})
		}
	})
	bg.Go(func() {
		err := cmd.Wait()
		send(procEvent{slot: s, pid: pid, err: err})
	})
}

// workerEnv is the environment of worker index: env (the parent's when nil)
// without what only the parent may use (systemd's variables, GONOVA_*), plus
// the worker's index, the parent's pid, the ready pipe's fd (after the nfiles
// listeners, which start at fd 3) and the listeners' names and fds.
func workerEnv(env []string, index int, names []string, nfiles int) []string {
	if env == nil {
		env = os.Environ()
	}
	// Only the parent talks to systemd.
	env = slices.DeleteFunc(env, func(kv string) bool {
		for _, k := range []string{"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "GONOVA_"} {
			if strings.HasPrefix(kv, k) {
				return true
			}
		}
		return false
	})
	fds := make([]string, len(names))
	for i, n := range names {
		fds[i] = n + "=" + strconv.Itoa(3+i)
	}
	return append(env,
		envWorker+"="+strconv.Itoa(index),
		envParentPID+"="+strconv.Itoa(os.Getpid()),
		envReadyFD+"="+strconv.Itoa(3+nfiles),
		envListenFDs+"="+strings.Join(fds, ","),
	)
}

// handle records a worker event; while running, a dead worker is scheduled
// for re-spawn. It reports whether a worker became ready.
func (p *ProcessLauncher) handle(ev procEvent, running bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ev.slot
	if s.pid != ev.pid {
		return false // an event from an earlier process of this slot
	}
	if ev.ready {
		s.ready = true
		p.log.Info("worker ready", "worker", s.index, "pid", ev.pid)
		return true
	}
	uptime := time.Since(s.started)
	s.pid, s.ready = 0, false
	s.lastExit = exitString(ev.err)
	if !running {
		p.log.Info("worker exited", "worker", s.index, "pid", ev.pid, "status", s.lastExit)
		return false
	}
	if uptime >= p.opts.RespawnMaxDelay {
		s.backoff.Reset() // it had been running fine
	}
	d := s.backoff.NextBackOff()
	s.nextStart = time.Now().Add(d)
	p.log.Warn("worker died, re-spawning", "worker", s.index, "pid", ev.pid, "status", s.lastExit,
		"uptime", uptime.Round(time.Millisecond), "respawn_in", d.Round(time.Millisecond))
	return false
}

// shutdown sends SIGTERM to every worker and waits for them under
// GracefulShutdownTimeout + StopGrace, from a fresh context; then it kills
// those left. A second stop signal kills them at once.
func (r *processRun) shutdown() error {
	p := r.p
	sdNotify(p.log, daemon.SdNotifyStopping)
	p.mu.Lock()
	for _, s := range p.slots {
		s.nextStart = time.Time{}
	}
	p.mu.Unlock()
	p.signalAll(syscall.SIGTERM)

	timeout := p.opts.GracefulShutdownTimeout
	var grace time.Duration
	if timeout > 0 {
		grace = timeout + p.opts.StopGrace
	}
	stopCtx, cancelStop := shutdownContext(r.ctx, grace)
	defer cancelStop()
	var failed []error
	for p.alive() > 0 {
		select {
		case ev := <-r.events:
			p.handle(ev, false)
			switch {
			case ev.ready || ev.err == nil:
			case diedOf(ev.err, syscall.SIGTERM):
				// The SIGTERM's default action: the worker was still starting
				// and had not installed its handlers yet, so it had taken no
				// work. A stop, not a failure.
				p.log.Info("worker stopped while still starting", "worker", ev.slot.index, "pid", ev.pid)
			default:
				failed = append(failed, fmt.Errorf("worker %d (pid %d): %s", ev.slot.index, ev.pid, exitString(ev.err)))
			}
		case <-stopCtx.Done():
			left := p.aliveNames()
			p.log.Error("graceful shutdown timed out, killing workers", "timeout", timeout, "still_stopping", left)
			p.killAll(r.events)
			return &ShutdownTimeoutError{Timeout: timeout, Services: left}
		case sig := <-r.sigs:
			switch {
			case isStopSignal(sig):
				p.log.Error("second signal, killing workers and exiting at once", "signal", sig.String(), "still_stopping", p.aliveNames())
				p.killAll(r.events)
				return ErrSecondSignal
			case sig == syscall.SIGUSR2:
				p.writeReport()
			default:
				p.log.Info("signal ignored while stopping", "signal", sig.String())
			}
		}
	}
	r.stopEvents()
	r.bg.Wait()
	if len(failed) > 0 {
		err := errors.Join(failed...)
		p.log.Error("workers stopped with errors", "err", err)
		return err
	}
	p.log.Info("all workers stopped")
	return nil
}

// diedOf reports whether err is the exit of a process killed by sig.
func diedOf(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// killAll sends SIGKILL to the workers left and reaps them, for at most a
// few seconds from a fresh timer.
func (p *ProcessLauncher) killAll(events <-chan procEvent) {
	p.signalAll(syscall.SIGKILL)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for p.alive() > 0 {
		select {
		case ev := <-events:
			p.handle(ev, false)
		case <-t.C:
			return
		}
	}
}

func (p *ProcessLauncher) signalAll(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.pid > 0 {
			if err := syscall.Kill(s.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				p.log.Warn("cannot signal worker", "worker", s.index, "pid", s.pid, "signal", sig.String(), "err", err)
			}
		}
	}
}

func (p *ProcessLauncher) nextDue() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var next time.Time
	for _, s := range p.slots {
		if !s.nextStart.IsZero() && (next.IsZero() || s.nextStart.Before(next)) {
			next = s.nextStart
		}
	}
	return next, !next.IsZero()
}

func (p *ProcessLauncher) setNext(s *slot, t time.Time) {
	p.mu.Lock()
	s.nextStart = t
	p.mu.Unlock()
}

func (p *ProcessLauncher) allReady() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if !s.ready {
			return false
		}
	}
	return true
}

func (p *ProcessLauncher) alive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.slots {
		if s.pid > 0 {
			n++
		}
	}
	return n
}

func (p *ProcessLauncher) aliveNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for _, s := range p.slots {
		if s.pid > 0 {
			names = append(names, fmt.Sprintf("worker %d (pid %d)", s.index, s.pid))
		}
	}
	return names
}

func (p *ProcessLauncher) report(w io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(w, "parent pid = %d\n", os.Getpid())
	for _, s := range p.slots {
		state := "stopped"
		switch {
		case s.pid > 0 && s.ready:
			state = "ready"
		case s.pid > 0:
			state = "starting"
		case !s.nextStart.IsZero():
			state = "re-spawn at " + s.nextStart.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(w, "worker %d: pid=%d state=%s spawns=%d last_exit=%q\n", s.index, s.pid, state, s.spawns, s.lastExit)
	}
	return nil
}

func (p *ProcessLauncher) writeReport() {
	p.log.Info("SIGUSR2: writing Guru Meditation Report")
	if _, err := p.opts.Reporter.WriteTo(p.opts.ReportOutput); err != nil {
		p.log.Error("writing report failed", "err", err)
	}
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
