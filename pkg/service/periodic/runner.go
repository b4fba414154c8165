package periodic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Runner runs the due tasks of a Tasks set. It is made only by Tasks.Setup,
// so its metrics are always registered.
//
// A Runner is driven either by its own timer loop (Run, or Start and Stop) or
// by calling RunDue by hand; passes are serialised either way.
type Runner struct {
	opts    Options
	metrics *metrics
	tasks   []*taskState

	passMu sync.Mutex // serialises passes; guards taskState.lastRun

	// Lifecycle of the timer loop (loop.go).
	stopOnce sync.Once
	stopCh   chan struct{}
	mu       sync.Mutex
	started  bool
	done     chan struct{}      // closed when the loop returns; nil before it starts
	cancel   context.CancelFunc // cancels the running task's context
	running  string             // name of the task being run, "" between tasks
}

type taskState struct {
	taskDef
	lastRun    time.Time
	hasLastRun bool // false until the first run of a RunImmediately task
}

// Setup registers the metrics on reg, pre-creates every series of the enabled
// tasks at zero, and returns the Runner. Disabled tasks (negative spacing,
// Enabled(false)) and, with opts.RunExternal false, ExternalProcessOK tasks
// are logged and left out. Tasks added to ts later do not reach this Runner.
//
//	runner, err := tasks.Setup(registry, opts)
//	if err != nil {
//		return err
//	}
//	runner.Start(ctx)
//	defer runner.Stop(shutdownCtx)
func (ts *Tasks) Setup(reg prometheus.Registerer, opts Options) (*Runner, error) {
	if reg == nil {
		return nil, errors.New("periodic: Setup needs a prometheus.Registerer")
	}
	opts = opts.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("periodic: registering metrics: %w", err)
	}
	r := &Runner{opts: opts, metrics: m, stopCh: make(chan struct{})}
	now := opts.Clock.Now()
	log := opts.Logger
	for _, def := range ts.list {
		switch {
		case def.spacing < 0:
			log.Info("Skipping periodic task because its interval is negative", "task", def.name)
			continue
		case !def.enabled:
			log.Info("Skipping periodic task because it is disabled", "task", def.name)
			continue
		case def.externalOK && !opts.RunExternal:
			log.Info("Skipping periodic task because run_external_periodic_tasks is false", "task", def.name)
			continue
		}
		if def.spacing == 0 {
			def.spacing = DefaultSpacing
		}
		st := &taskState{taskDef: def}
		if !def.runImmediately {
			st.lastRun, st.hasLastRun = now, true
		}
		m.precreate(def.name)
		r.tasks = append(r.tasks, st)
	}
	return r, nil
}

// TaskNames returns the names of the tasks this Runner runs, in order.
func (r *Runner) TaskNames() []string {
	names := make([]string, len(r.tasks))
	for i, t := range r.tasks {
		names[i] = t.name
	}
	return names
}

// RunDue runs, one after the other in registration order, every task that is
// due, and returns how long to idle until the next task is due, at most
// periodic_interval_max. No task is started once ctx is done or Stop has been
// called. A task's error or panic is logged and counted; the other tasks still
// run.
//
//	for {
//		idle := runner.RunDue(ctx)
//		// sleep idle, watching ctx
//	}
func (r *Runner) RunDue(ctx context.Context) time.Duration {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	for _, t := range r.tasks {
		if r.shuttingDown(ctx) {
			r.opts.Logger.Debug("Not starting periodic tasks: shutting down", "task", t.name)
			break
		}
		now := r.opts.Clock.Now()
		if t.hasLastRun && t.lastRun.Add(t.spacing).After(now) {
			continue // not due
		}
		r.advance(t, now)
		r.runOne(ctx, t)
	}
	return r.idle()
}

func (r *Runner) shuttingDown(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	select {
	case <-r.stopCh:
		return true
	default:
		return false
	}
}

// advance moves a due task's last run onto its spacing grid, as oslo's
// _nearest_boundary: the latest multiple of spacing after the previous last
// run that is not in the future, plus 0-5 % of the spacing in whole seconds.
func (r *Runner) advance(t *taskState, now time.Time) {
	if !t.hasLastRun {
		t.lastRun, t.hasLastRun = now, true
		return
	}
	late := now.Sub(t.lastRun.Add(t.spacing))
	spread := r.jitter(t.spacing / 20).Truncate(time.Second)
	t.lastRun = now.Add(-(late % t.spacing)).Add(spread)
}

// idle returns the time until the earliest task is due, capped by
// IntervalMax and never negative.
func (r *Runner) idle() time.Duration {
	idle := r.opts.IntervalMax
	now := r.opts.Clock.Now()
	for _, t := range r.tasks {
		next := time.Duration(0)
		if t.hasLastRun {
			next = max(t.lastRun.Add(t.spacing).Sub(now), 0)
		}
		idle = min(idle, next)
	}
	return idle
}

// jitter draws from Options.Jitter, clamped to [0, limit]; 0 when limit is 0.
func (r *Runner) jitter(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return min(max(r.opts.Jitter(limit), 0), limit)
}

func (r *Runner) runOne(ctx context.Context, t *taskState) {
	log := r.opts.Logger.With("task", t.name)
	r.setRunning(t.name)
	defer r.setRunning("")

	log.Debug("Running periodic task")
	start := r.opts.Clock.Now()
	panicked, stack, err := call(ctx, t.fn)
	took := r.opts.Clock.Since(start)

	outcome := OutcomeSuccess
	switch {
	case panicked != nil:
		outcome = OutcomePanic
		log.Error("Panic during periodic task", "panic", fmt.Sprint(panicked), "stack", string(stack))
	case err != nil:
		outcome = OutcomeFailure
		log.Error("Error during periodic task", "error", err)
	default:
		r.metrics.lastSuccess.WithLabelValues(t.name).Set(float64(r.opts.Clock.Now().UnixNano()) / 1e9)
	}
	r.metrics.runs.WithLabelValues(t.name, outcome).Inc()
	r.metrics.duration.WithLabelValues(t.name).Observe(took.Seconds())
	if took > t.spacing {
		r.metrics.overruns.WithLabelValues(t.name).Inc()
		log.Warn("Periodic task outlasted its spacing",
			slog.Duration("duration", took), slog.Duration("spacing", t.spacing))
	}
}

// call runs fn and turns a panic into a value instead of a crash.
func call(ctx context.Context, fn Func) (panicked any, stack []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked, stack = p, debug.Stack()
		}
	}()
	return nil, nil, fn(ctx)
}

func (r *Runner) setRunning(name string) {
	r.mu.Lock()
	r.running = name
	r.mu.Unlock()
}
