package keystone

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/internal/promreg"
)

// Results of gonova_keystone_token_validations_total.
const (
	resultCached      = "cached"      // valid, from a cache
	resultValid       = "valid"       // valid, Keystone asked
	resultInvalid     = "invalid"     // unknown, revoked, expired or malformed
	resultUnavailable = "unavailable" // Keystone could not be asked
)

type metrics struct {
	validations *prometheus.CounterVec
	keystoneDur prometheus.Histogram
	// the validations series, resolved once (no label lookup per request)
	cached, valid, invalid, unavailable prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_keystone_token_validations_total",
			Help: "Token validations (user and service tokens), by result: cached, valid (Keystone asked), invalid, unavailable.",
		}, []string{"result"}),
		keystoneDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gonova_keystone_validation_request_duration_seconds",
			Help:    "Round trip of GET /v3/auth/tokens to Keystone, including the service's login when one was needed.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
		}),
	}
	if reg != nil {
		var err error
		if m.validations, err = promreg.RegisterOrReuse(reg, m.validations); err != nil {
			return nil, err
		}
		if m.keystoneDur, err = promreg.RegisterOrReuse(reg, m.keystoneDur); err != nil {
			return nil, err
		}
	}
	// Every outcome series exists at zero from the start.
	m.cached = m.validations.WithLabelValues(resultCached)
	m.valid = m.validations.WithLabelValues(resultValid)
	m.invalid = m.validations.WithLabelValues(resultInvalid)
	m.unavailable = m.validations.WithLabelValues(resultUnavailable)
	return m, nil
}

func (m *metrics) observeKeystone(start time.Time) {
	m.keystoneDur.Observe(time.Since(start).Seconds())
}
