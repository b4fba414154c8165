// Package periodic runs a service manager's periodic tasks the way oslo.service's
// periodic_task and DynamicLoopingCall do for nova: each task has a spacing, a
// pass runs the tasks that are due, and the loop sleeps until the next one is
// due, never longer than periodic_interval_max.
//
// # Why
//
// nova-compute does much of its real work in periodic tasks (power-state sync,
// resource updates, cleaning up deleted instances). Operators know their
// behaviour from nova.conf: periodic_enable, periodic_fuzzy_delay so that a
// fleet restarted together does not hit the database in step, and
// run_external_periodic_tasks to move some tasks to a separate process. gonova
// keeps those options and their meaning, and adds what the Python original
// lacks: a panicking task cannot kill the loop, every task has Prometheus
// series from the moment the service starts, and Stop waits for the task that
// is running instead of abandoning it.
//
// The shape follows sapcc/go-bits: tasks are collected in a Tasks value, and
// only Tasks.Setup, which needs a prometheus.Registerer, returns a Runner, so a
// runner without metrics cannot be built. Time comes from an injected
// clock.Clock and randomness from an injected Jitter function, so tests are
// exact.
//
// # Behaviour kept from oslo
//
//   - Spacing 0 means DefaultSpacing (60 s); a negative spacing, or Enabled(false),
//     disables the task, which is logged once at Setup.
//   - A task runs first Spacing after Setup, or on the first pass with
//     RunImmediately.
//   - After a run the task's next due time is put on its spacing grid (a late
//     pass does not shift the schedule), plus 0-5 % of the spacing in whole
//     seconds, so tasks of many services drift apart.
//   - With run_external_periodic_tasks=false, ExternalProcessOK tasks are skipped.
//   - A task's error is logged and the other tasks run.
//
// Where gonova differs: the idle time is computed after the pass from the
// current time (oslo computes it before running the tasks, so a slow task made
// the next pass late); panics are recovered; a task that outlasts its spacing is
// logged and counted; Stop is graceful and bounded by its context.
//
// # Logging
//
// Through the Options.Logger (slog), with the attribute "task":
//   - Info at Setup for each disabled or skipped task, and when the loop starts
//     (with "initial_delay") or is disabled by periodic_enable=false.
//   - Debug "Running periodic task" before each run.
//   - Error "Error during periodic task" with "error" when a task fails, and
//     "Panic during periodic task" with "panic" and "stack" when it panics.
//   - Warn "Periodic task outlasted its spacing" with "duration" and "spacing".
//
// # Metrics
//
// Registered by Tasks.Setup; every series of an enabled task exists from Setup
// on, at zero:
//   - gonova_periodic_task_runs_total{task,outcome}: outcome is success, failure
//     or panic.
//   - gonova_periodic_task_duration_seconds{task}: histogram of run durations.
//   - gonova_periodic_task_overruns_total{task}: runs longer than the spacing.
//   - gonova_periodic_task_last_success_timestamp_seconds{task}: Unix time of the
//     last successful run, 0 before the first; alert on time() minus this.
//
// Runners that share a registry share these collectors; tasks with the same
// name then add into the same series.
package periodic
