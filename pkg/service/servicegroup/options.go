package servicegroup

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/registry"
)

// Defaults of nova.
const (
	// DefaultReportInterval is report_interval's default (pkg/config's
	// option default too).
	DefaultReportInterval = 10 * time.Second
	// DefaultServiceDownTime is service_down_time's default: pkg/config's
	// option default, and what the scheduler, compute.API and the API's
	// views fall back to when given none.
	DefaultServiceDownTime = 60 * time.Second
	// DefaultInitialDelay is how long after Join nova's first report comes.
	DefaultInitialDelay = 5 * time.Second
)

// Options configure a heartbeat. The zero value plus a Registerer gives nova's
// defaults.
type Options struct {
	// ReportInterval is report_interval (DEFAULT, default 10 s): the heartbeat
	// period. 0 means DefaultReportInterval.
	ReportInterval time.Duration
	// InitialDelay is how long after Join the first report comes (nova: 5 s).
	// 0 means DefaultInitialDelay; a negative value reports at once.
	InitialDelay time.Duration
	// ReportTimeout bounds one report (the database round trip, or the
	// re-creation of a deleted row). 0 means ReportInterval.
	ReportTimeout time.Duration
	// CreateOptions apply when a deleted row is re-created: set
	// DisableNewServices from enable_new_services (DEFAULT).
	CreateOptions registry.CreateOptions

	// Registerer receives the metrics (required). Several heartbeats may
	// share one: the collectors are registered once and reused.
	Registerer prometheus.Registerer
	// Clock is the local time source for waits and the last-success gauge;
	// nil means clock.Real.
	Clock clock.Clock
	// Jitter returns the period to wait before the next report given
	// ReportInterval; nil means DefaultJitter. Tests pass ExactInterval.
	Jitter func(interval time.Duration) time.Duration
	// Logger receives the heartbeat's logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultJitter spreads reports of services started together: a uniformly
// random period within ±5 % of interval, which stays far below the 2.5 x margin
// EffectiveServiceDownTime guarantees.
func DefaultJitter(interval time.Duration) time.Duration {
	spread := interval / 10
	if spread <= 0 {
		return interval
	}
	return interval - spread/2 + rand.N(spread+1)
}

// ExactInterval returns interval unchanged: reports exactly every
// ReportInterval, for tests.
func ExactInterval(interval time.Duration) time.Duration { return interval }

func (o Options) withDefaults() (Options, error) {
	if o.Registerer == nil {
		return o, errors.New("servicegroup: Options.Registerer is nil: pass prometheus.DefaultRegisterer or a registry")
	}
	switch {
	case o.ReportInterval < 0:
		return o, fmt.Errorf("servicegroup: report_interval = %v: must be positive", o.ReportInterval)
	case o.ReportInterval == 0:
		o.ReportInterval = DefaultReportInterval
	}
	switch {
	case o.InitialDelay < 0:
		o.InitialDelay = 0
	case o.InitialDelay == 0:
		o.InitialDelay = DefaultInitialDelay
	}
	switch {
	case o.ReportTimeout < 0:
		return o, fmt.Errorf("servicegroup: ReportTimeout = %v: must not be negative", o.ReportTimeout)
	case o.ReportTimeout == 0:
		o.ReportTimeout = o.ReportInterval
	}
	o.Clock = clock.OrReal(o.Clock)
	if o.Jitter == nil {
		o.Jitter = DefaultJitter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
