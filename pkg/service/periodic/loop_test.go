package periodic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// signal returns a task that reports each run on a channel.
func signal(ch chan<- string, name string) Func {
	return func(context.Context) error {
		ch <- name
		return nil
	}
}

func expectNextTimer(t *testing.T, h *harness, want time.Duration) {
	t.Helper()
	if err := h.clk.WaitForTimers(waitCtx(t), 1); err != nil {
		t.Fatalf("loop armed no timer: %v", err)
	}
	if got, _ := h.clk.NextTimer(); got != want {
		t.Fatalf("loop sleeps %v, want %v", got, want)
	}
}

func stop(t *testing.T, r *Runner) {
	t.Helper()
	if err := r.Stop(waitCtx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestLoopFuzzyInitialDelay(t *testing.T) {
	h := newHarness(t)
	h.opts.FuzzyDelay = 60 * time.Second
	var limits []time.Duration
	h.opts.Jitter = func(limit time.Duration) time.Duration {
		limits = append(limits, limit) // only the loop goroutine calls it
		return 17 * time.Second
	}
	ran := make(chan string, 1)
	var ts Tasks
	ts.Add("t", signal(ran, "t"), Spacing(10*time.Second), RunImmediately())
	r := h.setup(&ts)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, r)

	expectNextTimer(t, h, 17*time.Second)
	h.clk.Advance(16 * time.Second)
	expectNextTimer(t, h, time.Second) // still the initial delay: nothing ran
	h.clk.Advance(time.Second)
	recv(t, ran, "first run after the fuzzy delay")
	expectNextTimer(t, h, 10*time.Second) // then sleeps until the task is due
	h.clk.Advance(10 * time.Second)
	recv(t, ran, "second run")
	expectNextTimer(t, h, 10*time.Second)

	stop(t, r)
	if len(limits) == 0 || limits[0] != 60*time.Second {
		t.Fatalf("jitter limits = %v, want the fuzzy delay 60s first", limits)
	}
	if logs := h.logs.find("Starting periodic tasks", ""); len(logs) != 1 || logs[0].attrs["initial_delay"] != "17s" {
		t.Fatalf("start logs = %+v", logs)
	}
}

func TestLoopZeroFuzzyDelayStartsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.opts.FuzzyDelay = 0
	h.opts.Jitter = func(time.Duration) time.Duration { return 17 * time.Second }
	ran := make(chan string, 1)
	var ts Tasks
	ts.Add("t", signal(ran, "t"), Spacing(10*time.Second), RunImmediately())
	r := h.setup(&ts)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv(t, ran, "immediate run without any clock advance")
	expectNextTimer(t, h, 10*time.Second)
	stop(t, r)
}

func TestLoopIdlesAtMostIntervalMax(t *testing.T) {
	h := newHarness(t)
	h.opts.FuzzyDelay = 0
	h.opts.IntervalMax = 25 * time.Second
	var c counter
	var ts Tasks
	ts.Add("hourly", c.fn(nil), Spacing(time.Hour))
	r := h.setup(&ts)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectNextTimer(t, h, 25*time.Second)
	h.clk.Advance(25 * time.Second)
	expectNextTimer(t, h, 25*time.Second) // woke, found nothing due, slept again
	stop(t, r)
	expectRuns(t, "hourly task", &c, 0)
}

func TestLoopDisabledBlocksUntilStopped(t *testing.T) {
	h := newHarness(t)
	h.opts.Enable = false
	h.opts.FuzzyDelay = 0
	var c counter
	var ts Tasks
	ts.Add("t", c.fn(nil), RunImmediately())
	r := h.setup(&ts)

	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background()) }()
	select {
	case err := <-errc:
		t.Fatalf("Run returned early with periodic_enable=false: %v", err)
	default:
	}
	stop(t, r)
	if err := recv(t, errc, "Run to return"); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	expectRuns(t, "task with periodic_enable=false", &c, 0)
	if len(h.logs.find("Periodic tasks are disabled (periodic_enable is false)", "")) != 1 {
		t.Fatal("disabled loop did not log")
	}
}

func TestRunEndsWhenContextEnds(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	var ts Tasks
	r := h.setup(&ts)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	expectNextTimer(t, h, DefaultIntervalMax) // NoDelay: no initial delay, then idle
	cancel()
	if err := recv(t, errc, "Run to return"); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if err := r.Run(context.Background()); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Run = %v, want ErrStarted", err)
	}
	if err := r.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Fatalf("Start after Run = %v, want ErrStarted", err)
	}
}

func TestStopWaitsForRunningTaskAndStartsNoOther(t *testing.T) {
	h := newHarness(t)
	h.opts.FuzzyDelay = 0
	started := make(chan struct{})
	release := make(chan struct{})
	var taskErr error
	var second counter
	var ts Tasks
	ts.Add("first", func(ctx context.Context) error {
		close(started)
		<-release
		taskErr = ctx.Err() // graceful stop: the context is still live
		return nil
	}, RunImmediately())
	ts.Add("second", second.fn(nil), RunImmediately())
	r := h.setup(&ts)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv(t, started, "first task to start")

	stopped := make(chan error, 1)
	go func() { stopped <- r.Stop(context.Background()) }()
	recv(t, r.stopCh, "Stop to signal shutdown")
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a task was running", err)
	default:
	}
	close(release)
	if err := recv(t, stopped, "Stop to return"); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if taskErr != nil {
		t.Fatalf("graceful Stop cancelled the running task: %v", taskErr)
	}
	expectRuns(t, "task after Stop", &second, 0)
	if err := r.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop = %v, want nil", err)
	}
}

func TestStopDeadlineCancelsRunningTask(t *testing.T) {
	h := newHarness(t)
	h.opts.FuzzyDelay = 0
	started := make(chan struct{})
	var ts Tasks
	ts.Add("stuck", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, RunImmediately())
	r := h.setup(&ts)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv(t, started, "task to start")

	expired, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.Stop(expired)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"stuck"`) {
		t.Fatalf("Stop = %v, want context.Canceled naming the task", err)
	}
	recv(t, r.done, "loop to end after the task was cancelled")
	if got := h.logs.find("Error during periodic task", "stuck"); len(got) != 1 {
		t.Fatalf("cancelled task's error not logged: %+v", got)
	}
}

func TestStopBeforeStart(t *testing.T) {
	h := newHarness(t)
	var c counter
	var ts Tasks
	ts.Add("t", c.fn(nil), RunImmediately())
	r := h.setup(&ts)
	stop(t, r)
	if err := r.Run(context.Background()); err != nil {
		t.Fatalf("Run after Stop = %v, want nil at once", err)
	}
	expectRuns(t, "task of a stopped runner", &c, 0)
}
