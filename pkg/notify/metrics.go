package notify

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/internal/promreg"
)

// Outcomes of gonova_notifications_sent_total.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// Outcomes of gonova_notifications_received_total.
const (
	outcomeHandled  = "handled"  // acked after the handler (watermill Ack)
	outcomeRequeued = "requeued" // put back on the queue (watermill Nack, a Requeue result)
	outcomeRejected = "rejected" // not a notification: logged and acked
)

var receivedOutcomes = []string{outcomeHandled, outcomeRequeued, outcomeRejected}

type metrics struct {
	sentVec    *prometheus.CounterVec
	received   *prometheus.CounterVec
	reconnects prometheus.Counter

	mu   sync.Mutex
	seen map[string]bool // event types whose series exist
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sentVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_notifications_sent_total",
			Help: "Notifications sent, per driver and topic, by event_type and outcome (success: confirmed by the broker or logged; failure: given up).",
		}, []string{"event_type", "outcome"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_notifications_received_total",
			Help: "Notifications received by subscribers and listeners, by outcome (handled, requeued, rejected).",
		}, []string{"outcome"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gonova_notifications_reconnects_total",
			Help: "Reconnections of notifiers and subscribers to the message broker.",
		}),
		seen: map[string]bool{},
	}
	for _, o := range receivedOutcomes {
		m.received.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.sentVec, err = promreg.RegisterOrReuse(reg, m.sentVec); err != nil {
		return nil, err
	}
	if m.received, err = promreg.RegisterOrReuse(reg, m.received); err != nil {
		return nil, err
	}
	if m.reconnects, err = promreg.RegisterOrReuse(reg, m.reconnects); err != nil {
		return nil, err
	}
	for _, o := range receivedOutcomes {
		m.received.WithLabelValues(o)
	}
	return m, nil
}

// sent counts one notification; the first of an event type creates both of
// its outcome series, so that a failure rate is defined from the start.
func (m *metrics) sent(eventType string, err error) {
	m.mu.Lock()
	if !m.seen[eventType] {
		m.seen[eventType] = true
		m.sentVec.WithLabelValues(eventType, outcomeSuccess)
		m.sentVec.WithLabelValues(eventType, outcomeFailure)
	}
	m.mu.Unlock()
	outcome := outcomeSuccess
	if err != nil {
		outcome = outcomeFailure
	}
	m.sentVec.WithLabelValues(eventType, outcome).Inc()
}

func (m *metrics) receivedOne(outcome string) { m.received.WithLabelValues(outcome).Inc() }

func (m *metrics) reconnected() { m.reconnects.Inc() }
