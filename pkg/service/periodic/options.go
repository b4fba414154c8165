package periodic

import (
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gonova/gonova/pkg/clock"
)

// DefaultIntervalMax is the default of periodic_interval_max.
const DefaultIntervalMax = 60 * time.Second

// DefaultFuzzyDelay is nova's default periodic_fuzzy_delay.
const DefaultFuzzyDelay = 60 * time.Second

// Options configure a Runner. Start from DefaultOptions: the zero value turns
// periodic tasks and external tasks off.
//
//	opts := periodic.DefaultOptions()
//	opts.FuzzyDelay = cfg.PeriodicFuzzyDelay
//	opts.Logger = logger
type Options struct {
	// Enable is periodic_enable (DEFAULT, default true). When false, Run runs
	// no task and only waits to be stopped.
	Enable bool
	// FuzzyDelay is periodic_fuzzy_delay (DEFAULT, default 60 s): the first
	// pass waits Jitter(FuzzyDelay). 0 disables the delay.
	FuzzyDelay time.Duration
	// IntervalMax is periodic_interval_max: the longest the loop idles between
	// passes. 0 means DefaultIntervalMax (60 s).
	IntervalMax time.Duration
	// RunExternal is run_external_periodic_tasks (DEFAULT, default true). When
	// false, tasks marked ExternalProcessOK are skipped.
	RunExternal bool

	// Clock is the time source; nil means clock.Real.
	Clock clock.Clock
	// Logger receives the runner's logs; nil means slog.Default().
	Logger *slog.Logger
	// Jitter returns a random duration in [0, max]. It draws the fuzzy initial
	// delay and the 0-5 % spread added to each task's next due time. nil means
	// UniformJitter; tests pass NoDelay or a fixed function.
	Jitter func(max time.Duration) time.Duration
}

// DefaultOptions returns nova's defaults: enabled, a 60 s fuzzy delay, a 60 s
// interval cap, external tasks run here, real clock, default logger, uniform
// jitter.
func DefaultOptions() Options {
	return Options{
		Enable:      true,
		FuzzyDelay:  DefaultFuzzyDelay,
		IntervalMax: DefaultIntervalMax,
		RunExternal: true,
	}
}

// UniformJitter returns a uniformly random duration in [0, max] (0 when max
// is not positive): randint(0, max) of oslo, at nanosecond resolution.
func UniformJitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max + 1)
}

// NoDelay always returns 0, whatever max is: no fuzzy initial delay and
// no spread of due times, for tests and examples.
func NoDelay(time.Duration) time.Duration { return 0 }

func (o Options) withDefaults() Options {
	o.Clock = clock.OrReal(o.Clock)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Jitter == nil {
		o.Jitter = UniformJitter
	}
	if o.IntervalMax <= 0 {
		o.IntervalMax = DefaultIntervalMax
	}
	if o.FuzzyDelay < 0 {
		o.FuzzyDelay = 0
	}
	return o
}
