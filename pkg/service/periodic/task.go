package periodic

import (
	"context"
	"fmt"
	"time"
)

// DefaultSpacing is the spacing of a task registered with spacing 0, oslo's
// DEFAULT_INTERVAL.
const DefaultSpacing = 60 * time.Second

// Func is the body of a periodic task. Its context ends when the runner is
// hard-stopped (the Run context is cancelled, or a Stop deadline passes); a
// long task should watch it.
type Func func(ctx context.Context) error

// Tasks collects periodic tasks, as the @periodic_task decorators on an oslo
// manager class do. The zero value is ready to use. Tasks is not safe for
// concurrent use; register tasks while building the manager, then call Setup.
//
//	var tasks periodic.Tasks
//	tasks.Add("_sync_power_states", m.syncPowerStates, periodic.Spacing(10*time.Minute))
//	tasks.Add("_heal_instance_info_cache", m.healCache, periodic.RunImmediately())
//	runner, err := tasks.Setup(prometheus.DefaultRegisterer, periodic.DefaultOptions())
type Tasks struct {
	list  []taskDef
	names map[string]struct{}
}

type taskDef struct {
	name           string
	fn             Func
	spacing        time.Duration
	runImmediately bool
	enabled        bool
	externalOK     bool
}

// TaskOption sets one of a task's oslo options.
type TaskOption struct{ apply func(*taskDef) }

// Spacing sets how often the task runs: 0 (the default) means DefaultSpacing,
// a negative spacing disables the task.
func Spacing(d time.Duration) TaskOption { return TaskOption{func(t *taskDef) { t.spacing = d }} }

// RunImmediately makes the task run on the runner's first pass instead of one
// spacing after Setup.
func RunImmediately() TaskOption { return TaskOption{func(t *taskDef) { t.runImmediately = true }} }

// Enabled(false) disables the task; tasks are enabled by default.
func Enabled(enabled bool) TaskOption { return TaskOption{func(t *taskDef) { t.enabled = enabled }} }

// ExternalProcessOK marks a task that may run in a separate process instead:
// it is skipped when run_external_periodic_tasks is false.
func ExternalProcessOK() TaskOption { return TaskOption{func(t *taskDef) { t.externalOK = true }} }

// Add registers a task under name. Like http.ServeMux.Handle, it panics on a
// programming error: an empty name, a nil fn, or a name already added.
func (ts *Tasks) Add(name string, fn Func, opts ...TaskOption) {
	if name == "" {
		panic("periodic: task with empty name")
	}
	if fn == nil {
		panic(fmt.Sprintf("periodic: task %q has a nil func", name))
	}
	if _, dup := ts.names[name]; dup {
		panic(fmt.Sprintf("periodic: task %q added twice", name))
	}
	def := taskDef{name: name, fn: fn, enabled: true}
	for _, o := range opts {
		o.apply(&def)
	}
	if ts.names == nil {
		ts.names = map[string]struct{}{}
	}
	ts.names[name] = struct{}{}
	ts.list = append(ts.list, def)
}

// Len returns how many tasks were added, enabled or not.
func (ts *Tasks) Len() int { return len(ts.list) }
