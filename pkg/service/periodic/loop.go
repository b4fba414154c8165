package periodic

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrStarted is returned by Run and Start when the Runner's loop was started
// before. A Runner's loop runs once; build a new Runner with Setup to run again.
var ErrStarted = errors.New("periodic: runner already started")

// Run is the dynamic timer loop of nova's Service: it waits
// Jitter(periodic_fuzzy_delay), then repeatedly runs the due tasks and sleeps
// until the next one is due (at most periodic_interval_max). It blocks until
// ctx is done or Stop is called and then returns nil; when periodic_enable is
// false it runs nothing but still blocks, so it fits a run group whose members
// must not return early.
//
// Cancelling ctx is a hard stop: the running task's context is cancelled too.
// For a graceful stop call Stop.
//
//	go func() { errc <- runner.Run(ctx) }()
func (r *Runner) Run(ctx context.Context) error {
	taskCtx, done, err := r.begin(ctx)
	if err != nil {
		return err
	}
	r.loop(ctx, taskCtx, done)
	return nil
}

// Start runs the loop of Run in a new goroutine and returns at once. ctx is the
// parent of the tasks' context (cancel it for a hard stop).
//
//	if err := runner.Start(ctx); err != nil {
//		return err
//	}
//	defer runner.Stop(shutdownCtx)
func (r *Runner) Start(ctx context.Context) error {
	taskCtx, done, err := r.begin(ctx)
	if err != nil {
		return err
	}
	go r.loop(ctx, taskCtx, done)
	return nil
}

// Stop stops the loop gracefully: no task starts after it is called, and it
// waits for the running task to finish. If ctx ends first, Stop cancels the
// running task's context and returns an error naming the task, without waiting
// further. Stop is idempotent and safe to call before Start, concurrently, or
// after the loop has ended; after Stop, Run returns at once and RunDue starts
// no task. Stop waits only for the loop's own pass, not for a RunDue that a
// caller runs by hand.
func (r *Runner) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() { close(r.stopCh) })
	r.mu.Lock()
	done, cancel := r.done, r.cancel
	r.mu.Unlock()
	if done == nil {
		return nil // never started
	}
	select {
	case <-done:
		return nil
	default:
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	r.mu.Lock()
	running := r.running
	r.mu.Unlock()
	cancel()
	if running == "" {
		return fmt.Errorf("periodic: stopping: %w", ctx.Err())
	}
	return fmt.Errorf("periodic: stopping: task %q still running: %w", running, ctx.Err())
}

func (r *Runner) begin(ctx context.Context) (context.Context, chan struct{}, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return nil, nil, ErrStarted
	}
	r.started = true
	taskCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.done = make(chan struct{})
	return taskCtx, r.done, nil
}

func (r *Runner) loop(ctx, taskCtx context.Context, done chan struct{}) {
	defer close(done)
	defer r.cancel()
	log := r.opts.Logger
	if !r.opts.Enable {
		log.Info("Periodic tasks are disabled (periodic_enable is false)")
		select {
		case <-ctx.Done():
		case <-r.stopCh:
		}
		return
	}
	delay := r.jitter(r.opts.FuzzyDelay)
	log.Info("Starting periodic tasks", "tasks", len(r.tasks), "initial_delay", delay)
	for r.sleep(ctx, delay) {
		delay = r.RunDue(taskCtx)
	}
}

// sleep waits d on the injected clock; it returns false when the loop must end.
func (r *Runner) sleep(ctx context.Context, d time.Duration) bool {
	if r.shuttingDown(ctx) {
		return false
	}
	if d <= 0 {
		return true
	}
	t := r.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.stopCh:
		return false
	case <-t.C():
		return true
	}
}
