package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Close waits for the messages it handed out to be acked, and whatever it
// did not hand out goes back to the queue: a second subscriber gets every
// notification the first did not ack.
func TestCloseDrainsInFlightAndLosesNothing(t *testing.T) {
	u := testVhost(t)
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1})
	reg := prometheus.NewPedanticRegistry()
	first := newTestSubscriber(t, u, SubscriberConfig{Prefetch: 10, Registerer: reg})
	ch, err := first.Subscribe(context.Background(), "notifications.info")
	if err != nil {
		t.Fatal(err)
	}
	const total = 30
	for i := 0; i < total; i++ {
		if err := n.Info(context.Background(), "test.close", i); err != nil {
			t.Fatal(err)
		}
	}
	// Take two messages and hold them; the broker has handed the
	// subscriber up to 10.
	held := []*message.Message{next(t, ch, 10*time.Second), next(t, ch, 10*time.Second)}
	closed := make(chan error, 1)
	go func() { closed <- first.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with two messages still being handled", err)
	case <-time.After(300 * time.Millisecond):
	}
	acked := map[string]bool{}
	for _, m := range held {
		acked[string(m.Payload)] = true
		m.Ack()
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		// Drained channel: anything left must be closed, not delivered.
		t.Error("a message was handed out after Close began")
	}
	if got := testutil.ToFloat64(first.metrics.received.WithLabelValues(outcomeHandled)); got != 2 {
		t.Errorf("handled = %v, want 2", got)
	}

	second := newTestSubscriber(t, u, SubscriberConfig{})
	ch2, err := second.Subscribe(context.Background(), "notifications.info")
	if err != nil {
		t.Fatal(err)
	}
	rest := map[string]bool{}
	for len(rest) < total-2 {
		m := next(t, ch2, 10*time.Second)
		if acked[string(m.Payload)] {
			t.Errorf("acked notification %s delivered again", m.Payload)
		}
		rest[string(m.Payload)] = true
		m.Ack()
	}
}

func TestLogDriverWritesTheNotification(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewPedanticRegistry()
	n, err := NewNotifier(context.Background(), Options{Drivers: []string{DriverLog, DriverNoop}, PublisherID: "compute.h1", Logger: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Warn(context.Background(), "compute.instance.power_off", map[string]any{"state": "stopped", "n": json.RawMessage("12345678901234567890"),
		"nested": map[string]string{"adminPass": "hunter2"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	line := buf.String()
	mu.Unlock()
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if rec["level"] != "WARN" || rec["logger"] != "oslo.messaging.notification.compute.instance.power_off" {
		t.Errorf("record %v", rec)
	}
	body, err := Decode([]byte(rec["msg"].(string)))
	if err != nil || body.EventType != "compute.instance.power_off" || body.PublisherID != "compute.h1" ||
		string(body.Payload) != `{"n":12345678901234567890,"nested":{"adminPass":"***"},"state":"stopped"}` {
		t.Errorf("logged message %v: %v", rec["msg"], err)
	}
	want := `
# HELP gonova_notifications_sent_total Notifications sent, per driver and topic, by event_type and outcome (success: confirmed by the broker or logged; failure: given up).
# TYPE gonova_notifications_sent_total counter
gonova_notifications_sent_total{event_type="compute.instance.power_off",outcome="failure"} 0
gonova_notifications_sent_total{event_type="compute.instance.power_off",outcome="success"} 1
# HELP gonova_notifications_received_total Notifications received by subscribers and listeners, by outcome (handled, requeued, rejected).
# TYPE gonova_notifications_received_total counter
gonova_notifications_received_total{outcome="handled"} 0
gonova_notifications_received_total{outcome="rejected"} 0
gonova_notifications_received_total{outcome="requeued"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gonova_notifications_sent_total", "gonova_notifications_received_total"); err != nil {
		t.Error(err)
	}
	if _, err := NewNotifier(context.Background(), Options{Drivers: []string{DriverLog}, Registerer: reg}); err != nil {
		t.Errorf("a second notifier on the same registry: %v", err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// A message that is not a notification is logged, acknowledged and counted
// as rejected; the notifications around it are delivered.
func TestSubscriberRejectsWhatIsNotANotification(t *testing.T) {
	u := testVhost(t)
	reg := prometheus.NewPedanticRegistry()
	sub := newTestSubscriber(t, u, SubscriberConfig{Registerer: reg})
	ch, err := sub.Subscribe(context.Background(), "notifications.info")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`not json`, `{"event_type":"x","priority":"LOUD"}`} {
		if err := pch.PublishWithContext(context.Background(), "nova", "notifications.info", false, false, amqp.Publishing{ContentType: "application/json", Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessaging}, Retry: RetryForever})
	if err := n.Info(context.Background(), "test.after", "ok"); err != nil {
		t.Fatal(err)
	}
	m := next(t, ch, 10*time.Second)
	if string(m.Payload) != `"ok"` {
		t.Errorf("got %s", m.Payload)
	}
	m.Ack()
	waitFor(t, 10*time.Second, func() bool {
		return testutil.ToFloat64(sub.metrics.received.WithLabelValues(outcomeRejected)) == 2 &&
			testutil.ToFloat64(sub.metrics.received.WithLabelValues(outcomeHandled)) == 1
	})
}
