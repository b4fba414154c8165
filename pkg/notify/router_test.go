package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// nova's notifications consumed with watermill's Router and middleware: a
// handler that panics once is recovered (Nack: the broker redelivers), and
// the handler republishes each notification through the Notifier's
// Publisher.
func TestWatermillRouterConsumesAndRepublishes(t *testing.T) {
	u := testVhost(t)
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1})
	sub := newTestSubscriber(t, u, SubscriberConfig{})
	out := newTestSubscriber(t, u, SubscriberConfig{Pool: "checker"})

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 20 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	router.AddMiddleware(middleware.Recoverer)
	var mu sync.Mutex
	attempts := map[string]int{}
	router.AddHandler("enrich", "notifications.info", sub, "enriched.info", n.Prepare("router.go").Publisher(),
		func(msg *message.Message) ([]*message.Message, error) {
			if msg.Metadata.Get(MetaPublisherID) != "compute.gohost" || msg.Metadata.Get(MetaPriority) != "INFO" ||
				msg.Metadata.Get(MetaMessageID) != msg.UUID || msg.Metadata.Get(MetaTimestamp) == "" ||
				(msg.Metadata.Get(MetaEventType) != "test.steady" && msg.Metadata.Get(MetaEventType) != "test.flaky") {
				t.Errorf("metadata %v", msg.Metadata)
			}
			mu.Lock()
			attempts[msg.UUID]++
			first := attempts[msg.UUID] == 1
			mu.Unlock()
			if first && msg.Metadata.Get(MetaEventType) == "test.flaky" {
				panic("first delivery fails")
			}
			o := message.NewMessage(watermill.NewUUID(), msg.Payload)
			o.Metadata.Set(MetaEventType, msg.Metadata.Get(MetaEventType)+".enriched")
			o.Metadata.Set("unused", "x")
			return []*message.Message{o}, nil
		})
	outCh, err := out.Subscribe(context.Background(), "enriched.info")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(ctx) }()
	select {
	case <-router.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("router not running")
	}

	const total = 10
	for i := 0; i < total; i++ {
		et := "test.steady"
		if i == 3 {
			et = "test.flaky"
		}
		if err := n.Info(context.Background(), et, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for len(got) < total {
		m := next(t, outCh, 30*time.Second)
		nn, err := FromMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if nn.PublisherID != "router.go" || nn.Priority != Info || (nn.EventType != "test.steady.enriched" && nn.EventType != "test.flaky.enriched") {
			t.Errorf("republished %+v", nn)
		}
		got[string(m.Payload)] = true
		m.Ack()
	}
	mu.Lock()
	redelivered := 0
	for _, a := range attempts {
		if a > 1 {
			redelivered++
		}
	}
	mu.Unlock()
	if redelivered != 1 {
		t.Errorf("%d notifications were redelivered, want the flaky one", redelivered)
	}
	if err := router.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}
