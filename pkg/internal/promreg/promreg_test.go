package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterOrReuse(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	opts := prometheus.CounterOpts{Name: "gonova_test_things_total", Help: "Things."}
	first, err := RegisterOrReuse(reg, prometheus.NewCounterVec(opts, []string{"kind"}))
	if err != nil {
		t.Fatal(err)
	}
	second, err := RegisterOrReuse(reg, prometheus.NewCounterVec(opts, []string{"kind"}))
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("the second registration did not reuse the first collector")
	}
	second.WithLabelValues("a").Inc()
	if got := first.WithLabelValues("a"); got == nil {
		t.Fatal("no series")
	}
	if _, err := RegisterOrReuse(reg, prometheus.NewCounterVec(opts, []string{"other"})); err == nil {
		t.Fatal("a clashing collector (other labels) was accepted")
	}
}
