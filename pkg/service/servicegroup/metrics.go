package servicegroup

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/internal/promreg"
)

// Outcome label values of gonova_servicegroup_reports_total.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

type metrics struct {
	reports     *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	recreated   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var (
		m   metrics
		err error
	)
	if m.reports, err = promreg.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gonova_servicegroup_reports_total",
		Help: "Heartbeat reports to the service registry, by binary and outcome (success, failure).",
	}, []string{"binary", "outcome"})); err != nil {
		return nil, err
	}
	if m.lastSuccess, err = promreg.RegisterOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gonova_servicegroup_last_success_timestamp_seconds",
		Help: "Unix time of the last successful heartbeat report; 0 before the first.",
	}, []string{"binary"})); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.RegisterOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gonova_servicegroup_report_duration_seconds",
		Help:    "How long heartbeat reports took, whatever their outcome.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"binary"})); err != nil {
		return nil, err
	}
	if m.recreated, err = promreg.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gonova_servicegroup_records_recreated_total",
		Help: "Service records re-created because they were deleted while the service ran.",
	}, []string{"binary"})); err != nil {
		return nil, err
	}
	return &m, nil
}

// precreate makes a binary's series exist at zero before its first report, so
// absence alerts and rate() work from the start.
func (m *metrics) precreate(binary string) {
	m.reports.WithLabelValues(binary, OutcomeSuccess)
	m.reports.WithLabelValues(binary, OutcomeFailure)
	m.lastSuccess.WithLabelValues(binary)
	m.duration.WithLabelValues(binary)
	m.recreated.WithLabelValues(binary)
}
