package periodic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSpacingHonoured(t *testing.T) {
	h := newHarness(t)
	var c counter
	var ts Tasks
	ts.Add("every10", c.fn(nil), Spacing(10*time.Second))
	r := h.setup(&ts)
	ctx := context.Background()

	expectIdle(t, r.RunDue(ctx), 10*time.Second)
	expectRuns(t, "at start", &c, 0)

	h.clk.Advance(9 * time.Second)
	expectIdle(t, r.RunDue(ctx), time.Second)
	expectRuns(t, "after 9s", &c, 0)

	h.clk.Advance(time.Second)
	expectIdle(t, r.RunDue(ctx), 10*time.Second)
	expectRuns(t, "after 10s", &c, 1)

	expectIdle(t, r.RunDue(ctx), 10*time.Second)
	expectRuns(t, "same instant again", &c, 1)

	h.clk.Advance(10 * time.Second)
	r.RunDue(ctx)
	expectRuns(t, "after 20s", &c, 2)
}

func TestZeroSpacingMeansDefault(t *testing.T) {
	h := newHarness(t)
	h.opts.IntervalMax = time.Hour
	var c counter
	var ts Tasks
	ts.Add("default", c.fn(nil))
	r := h.setup(&ts)

	h.clk.Advance(DefaultSpacing - time.Second)
	expectIdle(t, r.RunDue(context.Background()), time.Second)
	expectRuns(t, "before 60s", &c, 0)
	h.clk.Advance(time.Second)
	expectIdle(t, r.RunDue(context.Background()), DefaultSpacing)
	expectRuns(t, "at 60s", &c, 1)
}

func TestRunImmediately(t *testing.T) {
	h := newHarness(t)
	var now, later counter
	var ts Tasks
	ts.Add("now", now.fn(nil), Spacing(30*time.Second), RunImmediately())
	ts.Add("later", later.fn(nil), Spacing(30*time.Second))
	r := h.setup(&ts)

	expectIdle(t, r.RunDue(context.Background()), 30*time.Second)
	expectRuns(t, "run_immediately task", &now, 1)
	expectRuns(t, "normal task", &later, 0)

	h.clk.Advance(30 * time.Second)
	r.RunDue(context.Background())
	expectRuns(t, "run_immediately task after 30s", &now, 2)
	expectRuns(t, "normal task after 30s", &later, 1)
}

func TestDisabledAndNegativeSpacing(t *testing.T) {
	h := newHarness(t)
	var off, neg, on counter
	var ts Tasks
	ts.Add("off", off.fn(nil), Enabled(false), RunImmediately())
	ts.Add("negative", neg.fn(nil), Spacing(-1), RunImmediately())
	ts.Add("on", on.fn(nil), RunImmediately())
	r := h.setup(&ts)

	if got := strings.Join(r.TaskNames(), ","); got != "on" {
		t.Fatalf("TaskNames = %q, want only %q", got, "on")
	}
	for i := 0; i < 3; i++ {
		r.RunDue(context.Background())
		h.clk.Advance(time.Hour)
	}
	expectRuns(t, "disabled task", &off, 0)
	expectRuns(t, "negative-spacing task", &neg, 0)
	expectRuns(t, "enabled task", &on, 3)
	if len(h.logs.find("Skipping periodic task because it is disabled", "off")) != 1 {
		t.Error("disabled task was not logged once at Setup")
	}
	if len(h.logs.find("Skipping periodic task because its interval is negative", "negative")) != 1 {
		t.Error("negative-spacing task was not logged once at Setup")
	}
	// Disabled tasks get no series.
	if n := testutil.CollectAndCount(h.reg, "gonova_periodic_task_runs_total"); n != 3 {
		t.Fatalf("runs_total has %d series, want 3 (one task x three outcomes)", n)
	}
}

func TestIdleCappedAtIntervalMax(t *testing.T) {
	for _, tc := range []struct {
		name        string
		intervalMax time.Duration
		spacing     time.Duration
		want        time.Duration
	}{
		{"default cap", 0, time.Hour, DefaultIntervalMax},
		{"configured cap", 30 * time.Second, time.Hour, 30 * time.Second},
		{"spacing below cap", 30 * time.Second, 20 * time.Second, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.opts.IntervalMax = tc.intervalMax
			var ts Tasks
			ts.Add("t", func(context.Context) error { return nil }, Spacing(tc.spacing))
			expectIdle(t, h.setup(&ts).RunDue(context.Background()), tc.want)
		})
	}
	t.Run("no tasks", func(t *testing.T) {
		h := newHarness(t)
		h.opts.IntervalMax = 42 * time.Second
		var ts Tasks
		expectIdle(t, h.setup(&ts).RunDue(context.Background()), 42*time.Second)
	})
}

func TestIdleIsEarliestDueTask(t *testing.T) {
	h := newHarness(t)
	var ts Tasks
	noop := func(context.Context) error { return nil }
	ts.Add("slow", noop, Spacing(50*time.Second))
	ts.Add("fast", noop, Spacing(7*time.Second))
	r := h.setup(&ts)
	h.clk.Advance(5 * time.Second)
	expectIdle(t, r.RunDue(context.Background()), 2*time.Second)
}

func TestLatePassKeepsGrid(t *testing.T) {
	h := newHarness(t)
	var c counter
	var ts Tasks
	ts.Add("grid", c.fn(nil), Spacing(10*time.Second))
	r := h.setup(&ts)

	// The pass comes 15 s late: the task runs once, and its next due time
	// stays on the 10 s grid (30 s), not 10 s after the late run.
	h.clk.Advance(25 * time.Second)
	expectIdle(t, r.RunDue(context.Background()), 5*time.Second)
	expectRuns(t, "late pass", &c, 1)
}

func TestBoundarySpreadFromJitter(t *testing.T) {
	h := newHarness(t)
	h.opts.IntervalMax = time.Hour
	var asked []time.Duration
	h.opts.Jitter = func(limit time.Duration) time.Duration {
		asked = append(asked, limit)
		return limit // the largest spread allowed
	}
	var ts Tasks
	ts.Add("minute", func(context.Context) error { return nil }, Spacing(time.Minute))
	ts.Add("short", func(context.Context) error { return nil }, Spacing(10*time.Second))
	r := h.setup(&ts)

	h.clk.Advance(time.Minute) // both due
	// minute: 5 % of 60 s is 3 s; short: 5 % of 10 s is 0.5 s, truncated to
	// whole seconds as oslo does, so no spread: next due in 10 s.
	expectIdle(t, r.RunDue(context.Background()), 10*time.Second)
	h.clk.Advance(10 * time.Second)
	r.RunDue(context.Background())
	h.clk.Advance(40 * time.Second) // 50 s after the minute task ran
	expectIdle(t, r.RunDue(context.Background()), 10*time.Second)
	h.clk.Advance(10 * time.Second) // 60 s: not yet due because of the 3 s spread
	expectIdle(t, r.RunDue(context.Background()), 3*time.Second)

	if len(asked) < 2 || asked[0] != 3*time.Second || asked[1] != 500*time.Millisecond {
		t.Fatalf("jitter limits asked = %v, want [3s 500ms ...]", asked)
	}
}

func TestErrorAndPanicAreIsolated(t *testing.T) {
	h := newHarness(t)
	var after counter
	var ts Tasks
	ts.Add("fails", func(context.Context) error { return errors.New("db unreachable") }, RunImmediately())
	ts.Add("panics", func(context.Context) error { panic("nil map") }, RunImmediately())
	ts.Add("after", after.fn(nil), RunImmediately())
	r := h.setup(&ts)

	r.RunDue(context.Background())
	expectRuns(t, "task after the failing ones", &after, 1)

	errLogs := h.logs.find("Error during periodic task", "fails")
	if len(errLogs) != 1 || errLogs[0].attrs["error"] != "db unreachable" {
		t.Fatalf("error log = %+v", errLogs)
	}
	panicLogs := h.logs.find("Panic during periodic task", "panics")
	if len(panicLogs) != 1 || panicLogs[0].attrs["panic"] != "nil map" ||
		!strings.Contains(panicLogs[0].attrs["stack"], "runner_test.go") {
		t.Fatalf("panic log = %+v", panicLogs)
	}

	// The failing tasks are not retried at once: they wait for their spacing.
	h.clk.Advance(time.Minute)
	r.RunDue(context.Background())
	for task, outcome := range map[string]string{"fails": OutcomeFailure, "panics": OutcomePanic, "after": OutcomeSuccess} {
		if got := testutil.ToFloat64(r.metrics.runs.WithLabelValues(task, outcome)); got != 2 {
			t.Errorf("runs_total{task=%q,outcome=%q} = %v, want 2", task, outcome, got)
		}
	}
}

func TestOverrunIsWarnedAndCounted(t *testing.T) {
	h := newHarness(t)
	var ts Tasks
	ts.Add("slow", func(context.Context) error {
		h.clk.Advance(15 * time.Second)
		return nil
	}, Spacing(10*time.Second), RunImmediately())
	ts.Add("exact", func(context.Context) error {
		h.clk.Advance(10 * time.Second)
		return nil
	}, Spacing(10*time.Second), RunImmediately())
	r := h.setup(&ts)

	// Both ran over the pass; "slow" is due again already, so no idling.
	expectIdle(t, r.RunDue(context.Background()), 0)

	warns := h.logs.find("Periodic task outlasted its spacing", "")
	if len(warns) != 1 || warns[0].attrs["task"] != "slow" ||
		warns[0].attrs["duration"] != "15s" || warns[0].attrs["spacing"] != "10s" {
		t.Fatalf("overrun warnings = %+v, want one for slow (15s > 10s)", warns)
	}
	if got := testutil.ToFloat64(r.metrics.overruns.WithLabelValues("slow")); got != 1 {
		t.Fatalf("overruns_total{task=slow} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.metrics.overruns.WithLabelValues("exact")); got != 0 {
		t.Fatalf("overruns_total{task=exact} = %v, want 0", got)
	}
}

func TestExternalProcessTasks(t *testing.T) {
	for _, runExternal := range []bool{true, false} {
		h := newHarness(t)
		h.opts.RunExternal = runExternal
		var ext, local counter
		var ts Tasks
		ts.Add("external", ext.fn(nil), ExternalProcessOK(), RunImmediately())
		ts.Add("local", local.fn(nil), RunImmediately())
		r := h.setup(&ts)
		r.RunDue(context.Background())

		want := 0
		if runExternal {
			want = 1
		}
		expectRuns(t, "external task", &ext, want)
		expectRuns(t, "local task", &local, 1)
		skipped := h.logs.find("Skipping periodic task because run_external_periodic_tasks is false", "external")
		if (len(skipped) == 1) == runExternal {
			t.Fatalf("run_external_periodic_tasks=%v: skip logs = %+v", runExternal, skipped)
		}
	}
}

func TestNoTaskStartsOnceShuttingDown(t *testing.T) {
	t.Run("ctx done before the pass", func(t *testing.T) {
		h := newHarness(t)
		var c counter
		var ts Tasks
		ts.Add("t", c.fn(nil), RunImmediately())
		r := h.setup(&ts)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.RunDue(ctx)
		expectRuns(t, "task after ctx cancel", &c, 0)
	})
	t.Run("ctx ends during the pass", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var second counter
		var ts Tasks
		ts.Add("first", func(context.Context) error { cancel(); return nil }, RunImmediately())
		ts.Add("second", second.fn(nil), RunImmediately())
		h.setup(&ts).RunDue(ctx)
		expectRuns(t, "task after ctx cancelled mid-pass", &second, 0)
	})
	t.Run("Stop called", func(t *testing.T) {
		h := newHarness(t)
		var c counter
		var ts Tasks
		ts.Add("t", c.fn(nil), RunImmediately())
		r := h.setup(&ts)
		if err := r.Stop(context.Background()); err != nil {
			t.Fatalf("Stop before start: %v", err)
		}
		r.RunDue(context.Background())
		expectRuns(t, "task after Stop", &c, 0)
	})
}

func TestTaskReceivesCallersContext(t *testing.T) {
	h := newHarness(t)
	type key struct{}
	var got any
	var ts Tasks
	ts.Add("ctx", func(ctx context.Context) error { got = ctx.Value(key{}); return nil }, RunImmediately())
	h.setup(&ts).RunDue(context.WithValue(context.Background(), key{}, "admin"))
	if got != "admin" {
		t.Fatalf("task saw ctx value %v, want admin", got)
	}
}

func TestMetricsText(t *testing.T) {
	h := newHarness(t)
	var ts Tasks
	ts.Add("_sync_power_states", func(context.Context) error {
		h.clk.Advance(2 * time.Second)
		return nil
	}, Spacing(time.Second), RunImmediately())
	ts.Add("_cleanup", func(context.Context) error { return errors.New("boom") }, Spacing(time.Minute))
	r := h.setup(&ts)

	// Before any run every series exists at zero.
	const atZero = `
# HELP gonova_periodic_task_runs_total Runs of periodic tasks, by task and outcome (success, failure, panic).
# TYPE gonova_periodic_task_runs_total counter
gonova_periodic_task_runs_total{outcome="failure",task="_cleanup"} 0
gonova_periodic_task_runs_total{outcome="failure",task="_sync_power_states"} 0
gonova_periodic_task_runs_total{outcome="panic",task="_cleanup"} 0
gonova_periodic_task_runs_total{outcome="panic",task="_sync_power_states"} 0
gonova_periodic_task_runs_total{outcome="success",task="_cleanup"} 0
gonova_periodic_task_runs_total{outcome="success",task="_sync_power_states"} 0
# HELP gonova_periodic_task_overruns_total Periodic task runs that took longer than the task's spacing.
# TYPE gonova_periodic_task_overruns_total counter
gonova_periodic_task_overruns_total{task="_cleanup"} 0
gonova_periodic_task_overruns_total{task="_sync_power_states"} 0
# HELP gonova_periodic_task_last_success_timestamp_seconds Unix time of the last successful run of a periodic task; 0 before the first.
# TYPE gonova_periodic_task_last_success_timestamp_seconds gauge
gonova_periodic_task_last_success_timestamp_seconds{task="_cleanup"} 0
gonova_periodic_task_last_success_timestamp_seconds{task="_sync_power_states"} 0
`
	names := []string{
		"gonova_periodic_task_runs_total",
		"gonova_periodic_task_overruns_total",
		"gonova_periodic_task_last_success_timestamp_seconds",
	}
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(atZero), names...); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(h.reg, "gonova_periodic_task_duration_seconds"); n != 2 {
		t.Fatalf("duration histogram has %d series before any run, want 2", n)
	}

	r.RunDue(context.Background()) // sync runs (2 s, overrun), ends at Epoch+2s
	h.clk.Advance(58 * time.Second)
	r.RunDue(context.Background()) // at Epoch+60s: cleanup fails, then sync runs again

	const after = `
# HELP gonova_periodic_task_runs_total Runs of periodic tasks, by task and outcome (success, failure, panic).
# TYPE gonova_periodic_task_runs_total counter
gonova_periodic_task_runs_total{outcome="failure",task="_cleanup"} 1
gonova_periodic_task_runs_total{outcome="failure",task="_sync_power_states"} 0
gonova_periodic_task_runs_total{outcome="panic",task="_cleanup"} 0
gonova_periodic_task_runs_total{outcome="panic",task="_sync_power_states"} 0
gonova_periodic_task_runs_total{outcome="success",task="_cleanup"} 0
gonova_periodic_task_runs_total{outcome="success",task="_sync_power_states"} 2
# HELP gonova_periodic_task_overruns_total Periodic task runs that took longer than the task's spacing.
# TYPE gonova_periodic_task_overruns_total counter
gonova_periodic_task_overruns_total{task="_cleanup"} 0
gonova_periodic_task_overruns_total{task="_sync_power_states"} 2
# HELP gonova_periodic_task_last_success_timestamp_seconds Unix time of the last successful run of a periodic task; 0 before the first.
# TYPE gonova_periodic_task_last_success_timestamp_seconds gauge
gonova_periodic_task_last_success_timestamp_seconds{task="_cleanup"} 0
gonova_periodic_task_last_success_timestamp_seconds{task="_sync_power_states"} 1.767323107e+09
# HELP gonova_periodic_task_duration_seconds How long periodic task runs took, whatever their outcome.
# TYPE gonova_periodic_task_duration_seconds histogram
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="0.01"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="0.1"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="0.5"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="1"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="5"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="10"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="30"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="60"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="300"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="900"} 1
gonova_periodic_task_duration_seconds_bucket{task="_cleanup",le="+Inf"} 1
gonova_periodic_task_duration_seconds_sum{task="_cleanup"} 0
gonova_periodic_task_duration_seconds_count{task="_cleanup"} 1
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="0.01"} 0
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="0.1"} 0
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="0.5"} 0
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="1"} 0
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="5"} 2
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="10"} 2
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="30"} 2
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="60"} 2
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="300"} 2
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="900"} 2
gonova_periodic_task_duration_seconds_bucket{task="_sync_power_states",le="+Inf"} 2
gonova_periodic_task_duration_seconds_sum{task="_sync_power_states"} 4
gonova_periodic_task_duration_seconds_count{task="_sync_power_states"} 2
`
	names = append(names, "gonova_periodic_task_duration_seconds")
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(after), names...); err != nil {
		t.Fatal(err)
	}
}

func TestSetupRegistration(t *testing.T) {
	var ts Tasks
	ts.Add("t", func(context.Context) error { return nil })
	if _, err := ts.Setup(nil, DefaultOptions()); err == nil {
		t.Fatal("Setup(nil) did not fail")
	}

	// Two runners on one registry share the collectors.
	reg := prometheus.NewPedanticRegistry()
	if _, err := ts.Setup(reg, DefaultOptions()); err != nil {
		t.Fatalf("first Setup: %v", err)
	}
	var other Tasks
	other.Add("u", func(context.Context) error { return nil })
	if _, err := other.Setup(reg, DefaultOptions()); err != nil {
		t.Fatalf("second Setup on the same registry: %v", err)
	}
	if n := testutil.CollectAndCount(reg, "gonova_periodic_task_runs_total"); n != 6 {
		t.Fatalf("runs_total has %d series, want 6 (two tasks x three outcomes)", n)
	}

	// A clashing metric of the same name is an error, not a silent reuse.
	clash := prometheus.NewPedanticRegistry()
	clash.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "gonova_periodic_task_runs_total", Help: "other"}))
	if _, err := ts.Setup(clash, DefaultOptions()); err == nil {
		t.Fatal("Setup over a clashing metric did not fail")
	}
}

func TestAddPanicsOnProgrammingErrors(t *testing.T) {
	noop := func(context.Context) error { return nil }
	for name, add := range map[string]func(*Tasks){
		"empty name": func(ts *Tasks) { ts.Add("", noop) },
		"nil func":   func(ts *Tasks) { ts.Add("x", nil) },
		"duplicate":  func(ts *Tasks) { ts.Add("x", noop); ts.Add("x", noop) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Add did not panic")
				}
			}()
			var ts Tasks
			add(&ts)
		})
	}
	var ts Tasks
	ts.Add("a", noop)
	ts.Add("b", noop)
	if ts.Len() != 2 {
		t.Fatalf("Len = %d, want 2", ts.Len())
	}
}

func TestUniformJitterBounds(t *testing.T) {
	if UniformJitter(0) != 0 || UniformJitter(-time.Second) != 0 {
		t.Fatal("UniformJitter of a non-positive limit is not 0")
	}
	for i := 0; i < 1000; i++ {
		if d := UniformJitter(3 * time.Second); d < 0 || d > 3*time.Second {
			t.Fatalf("UniformJitter(3s) = %v, out of [0, 3s]", d)
		}
	}
	if NoDelay(time.Hour) != 0 {
		t.Fatal("NoDelay is not 0")
	}
}
