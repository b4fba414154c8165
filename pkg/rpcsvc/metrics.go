package rpcsvc

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/internal/promreg"
)

// Outcomes of gonova_rpc_messages_handled_total.
const (
	outcomeSuccess      = "success"
	outcomeFailure      = "failure"
	outcomeRetried      = "retried"
	outcomeDeadLettered = "dead_lettered"
	outcomeDuplicate    = "duplicate"
	outcomeRejected     = "rejected"
)

var allOutcomes = []string{outcomeSuccess, outcomeFailure, outcomeRetried, outcomeDeadLettered, outcomeDuplicate, outcomeRejected}

// Reasons of gonova_rpc_send_failures_total.
const (
	sendUnroutable  = "unroutable"
	sendUnavailable = "unavailable"
)

// unknownMethod labels messages whose method is not served (or unreadable).
const unknownMethod = "unknown"

type metrics struct {
	handled    *prometheus.CounterVec
	handlerDur *prometheus.HistogramVec
	callDur    *prometheus.HistogramVec
	inflight   prometheus.Gauge
	reconnects prometheus.Counter
	sendFails  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_rpc_messages_handled_total",
			Help: "RPC messages received by servers, by method and outcome (success, failure, retried, dead_lettered, duplicate, rejected).",
		}, []string{"method", "outcome"}),
		handlerDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gonova_rpc_handler_duration_seconds",
			Help:    "Time RPC handlers ran, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"method"}),
		callDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gonova_rpc_call_duration_seconds",
			Help:    "Round trip of RPC calls made by clients, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gonova_rpc_inflight_handlers",
			Help: "RPC handlers running now.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gonova_rpc_reconnects_total",
			Help: "Reconnections to the message broker.",
		}),
		sendFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_rpc_send_failures_total",
			Help: "Casts and calls that clients could not send, by reason: unroutable (no queue bound for the target for rpc_unroutable_timeout) or unavailable (no broker for rpc_unavailable_timeout).",
		}, []string{"reason"}),
	}
	for _, r := range []string{sendUnroutable, sendUnavailable} {
		m.sendFails.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.handled = register(reg, m.handled, &err)
	m.handlerDur = register(reg, m.handlerDur, &err)
	m.callDur = register(reg, m.callDur, &err)
	m.inflight = register(reg, m.inflight, &err)
	m.reconnects = register(reg, m.reconnects, &err)
	m.sendFails = register(reg, m.sendFails, &err)
	return m, err
}

// register registers c, or reuses the collector already registered under the
// same name (several transports in one process share a registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	c, err := promreg.RegisterOrReuse(reg, c)
	if err != nil && *errp == nil {
		*errp = err
	}
	return c
}

// initMethods creates every outcome series of the served methods at zero.
func (m *metrics) initMethods(names []string) {
	for _, n := range append(names, unknownMethod) {
		for _, o := range allOutcomes {
			m.handled.WithLabelValues(n, o)
		}
		m.handlerDur.WithLabelValues(n)
	}
}

func (m *metrics) sendFailed(reason string) { m.sendFails.WithLabelValues(reason).Inc() }

// Reconnected implements driver.Metrics.
func (m *metrics) Reconnected() { m.reconnects.Inc() }
