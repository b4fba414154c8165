package rpcsvc

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsPedanticAndPrecreated(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	tr := (&env{url: "memory://metrics_test", exchange: "x", topic: "metrics_t", reg: reg}).open(t)
	if _, err := NewServer(tr, ServerConfig{Target: Target{Topic: "metrics_t", Server: "h"}, Endpoints: []Endpoint{{Impl: &baseAPI{}}}}); err != nil {
		t.Fatal(err)
	}
	// A second transport on the same registry reuses the collectors.
	tr2 := (&env{url: "memory://metrics_test", exchange: "x", topic: "metrics_t", reg: reg}).open(t)
	if tr2.metrics.handled != tr.metrics.handled {
		t.Fatal("second transport did not reuse the registered collectors")
	}
	want := `
# HELP gonova_rpc_messages_handled_total RPC messages received by servers, by method and outcome (success, failure, retried, dead_lettered, duplicate, rejected).
# TYPE gonova_rpc_messages_handled_total counter
gonova_rpc_messages_handled_total{method="ping",outcome="dead_lettered"} 0
gonova_rpc_messages_handled_total{method="ping",outcome="duplicate"} 0
gonova_rpc_messages_handled_total{method="ping",outcome="failure"} 0
gonova_rpc_messages_handled_total{method="ping",outcome="rejected"} 0
gonova_rpc_messages_handled_total{method="ping",outcome="retried"} 0
gonova_rpc_messages_handled_total{method="ping",outcome="success"} 0
gonova_rpc_messages_handled_total{method="unknown",outcome="dead_lettered"} 0
gonova_rpc_messages_handled_total{method="unknown",outcome="duplicate"} 0
gonova_rpc_messages_handled_total{method="unknown",outcome="failure"} 0
gonova_rpc_messages_handled_total{method="unknown",outcome="rejected"} 0
gonova_rpc_messages_handled_total{method="unknown",outcome="retried"} 0
gonova_rpc_messages_handled_total{method="unknown",outcome="success"} 0
# HELP gonova_rpc_reconnects_total Reconnections to the message broker.
# TYPE gonova_rpc_reconnects_total counter
gonova_rpc_reconnects_total 0
# HELP gonova_rpc_inflight_handlers RPC handlers running now.
# TYPE gonova_rpc_inflight_handlers gauge
gonova_rpc_inflight_handlers 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gonova_rpc_messages_handled_total", "gonova_rpc_reconnects_total", "gonova_rpc_inflight_handlers"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "gonova_rpc_handler_duration_seconds"); err != nil || n != 2 {
		t.Fatalf("handler duration series: %d %v", n, err)
	}
}
