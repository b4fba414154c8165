package notify

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/internal/amqpbaseline"
)

// benchPayload is about the size of a small nova versioned notification.
var benchPayload = json.RawMessage(`{"nova_object.name":"ServiceStatusPayload","nova_object.namespace":"nova","nova_object.version":"1.1","nova_object.data":{"host":"host1","binary":"nova-compute","topic":"compute","report_count":1,"disabled":false,"disabled_reason":null,"availability_zone":"nova","forced_down":false,"version":64,"uuid":"` + strings.Repeat("a", 36) + `"}}`)

// BenchmarkNotifyConfirmed: notifications published with broker confirms
// from 64 concurrent senders, beside raw amqp091-go confirmed publishes of
// the same body size (a window of 64 outstanding confirms) to the same
// broker in the same run.
func BenchmarkNotifyConfirmed(b *testing.B) {
	u := testVhost(b)
	n := newTestNotifier(b, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1, Logger: nil})
	ctx := context.Background()
	if err := n.Info(ctx, "service.update", benchPayload); err != nil { // declares the queue
		b.Fatal(err)
	}
	sample := newNotification("compute.host1", "service.update", Info, benchPayload, nil)
	body, _ := sample.Encode(true)

	const senders = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := n.Info(ctx, "service.update", benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "notify/s")
	b.ReportMetric(float64(len(body)), "body_bytes")

	if b.N < 1000 {
		return // the calibration runs: no baseline
	}
	bctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := amqpbaseline.Throughput(bctx, amqpbaseline.ThroughputOptions{
		URL: u, Messages: b.N, BodySize: len(body), Confirms: true, ConfirmWindow: senders,
		// Prefill: every publish is confirmed before a consumer starts, so
		// PublishElapsed is publishing alone, as the notifier above.
		Prefill: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	raw := float64(res.Messages) / res.PublishElapsed.Seconds()
	b.ReportMetric(raw, "raw_confirmed/s")
	b.ReportMetric(rate/raw, "ratio")
}
