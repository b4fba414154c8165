// Package promreg registers Prometheus collectors that several instances in one
// process share.
//
// Why: a process may run several heartbeats, periodic runners or RPC
// transports on one registry (nova-all runs the API and the compute in one
// process). Each builds the same collectors; the first registration wins and
// the others reuse it, so series are shared instead of refused.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterOrReuse registers c, or returns the collector with the same
// description that is already registered. Any other registration error (a
// name registered with other labels, say) is returned with c.
//
//	m.runs, err = promreg.RegisterOrReuse(reg, prometheus.NewCounterVec(opts, labels))
func RegisterOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
