package notify

import (
	"context"
	"testing"
	"time"
)

// WithTopics sends to other topics on the same connection (nova's versioned
// notifier beside its legacy one); closing it leaves the connection open.
func TestWithTopicsSharesTheConnection(t *testing.T) {
	u := testVhost(t)
	legacy := startPyListener(t, u, "nova", "--topic", "notifications", "--priorities", "info")
	versioned := startPyListener(t, u, "nova", "--topic", "versioned_notifications", "--priorities", "info")
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1})
	v := n.WithTopics("versioned_notifications")
	if v.conn != n.conn || n.WithTopics() != n {
		t.Fatal("WithTopics does not share the connection")
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := v.Prepare("nova-compute:h1").Info(ctx, "instance.create.end", map[string]any{"v": 1}); err != nil {
		t.Fatal(err)
	}
	if err := n.Info(ctx, "compute.instance.create.end", map[string]any{"v": 0}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, versioned, 30*time.Second); ev.EventType != "instance.create.end" || ev.PublisherID != "nova-compute:h1" {
		t.Errorf("versioned_notifications got %+v", ev)
	}
	if ev := next(t, legacy, 30*time.Second); ev.EventType != "compute.instance.create.end" || ev.PublisherID != "compute.gohost" {
		t.Errorf("notifications got %+v", ev)
	}
}
