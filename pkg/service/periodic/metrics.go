package periodic

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/internal/promreg"
)

// Outcome label values of gonova_periodic_task_runs_total.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomePanic   = "panic"
)

var outcomes = []string{OutcomeSuccess, OutcomeFailure, OutcomePanic}

type metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	overruns    *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	runs, err := promreg.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gonova_periodic_task_runs_total",
		Help: "Runs of periodic tasks, by task and outcome (success, failure, panic).",
	}, []string{"task", "outcome"}))
	if err != nil {
		return nil, err
	}
	duration, err := promreg.RegisterOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gonova_periodic_task_duration_seconds",
		Help:    "How long periodic task runs took, whatever their outcome.",
		Buckets: []float64{0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900},
	}, []string{"task"}))
	if err != nil {
		return nil, err
	}
	overruns, err := promreg.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gonova_periodic_task_overruns_total",
		Help: "Periodic task runs that took longer than the task's spacing.",
	}, []string{"task"}))
	if err != nil {
		return nil, err
	}
	lastSuccess, err := promreg.RegisterOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gonova_periodic_task_last_success_timestamp_seconds",
		Help: "Unix time of the last successful run of a periodic task; 0 before the first.",
	}, []string{"task"}))
	if err != nil {
		return nil, err
	}
	return &metrics{runs: runs, duration: duration, overruns: overruns, lastSuccess: lastSuccess}, nil
}

// precreate makes every series of a task exist at zero, so that dashboards
// and absence alerts see the task before its first run.
func (m *metrics) precreate(task string) {
	for _, o := range outcomes {
		m.runs.WithLabelValues(task, o)
	}
	m.duration.WithLabelValues(task)
	m.overruns.WithLabelValues(task)
	m.lastSuccess.WithLabelValues(task)
}
