package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// privateBroker is a RabbitMQ node of the test's own (rabbitnode: its own
// node name, ports and data directory), so that the test can restart it: the
// shared broker is never stopped.
type privateBroker struct {
	node *rabbitnode.Node
	url  string
}

func startPrivateBroker(t *testing.T) *privateBroker {
	t.Helper()
	n := rabbitnode.Start(t, rabbitnode.Options{})
	return &privateBroker{node: n, url: n.URL()}
}

// restart stops and starts the node: every connection drops, non-durable
// queues go, durable ones come back.
func (b *privateBroker) restart(t *testing.T) {
	t.Helper()
	b.node.Stop(t)
	b.node.Start(t)
}

// A broker restart loses no confirmed notification with
// amqp_durable_queues, including those sent while it restarts; with oslo's
// default (non-durable queues) the waiting ones are gone, as documented, and
// notifying works again afterwards.
func TestBrokerRestart(t *testing.T) {
	b := startPrivateBroker(t)
	ctx := context.Background()

	t.Run("durable", func(t *testing.T) {
		opts := Options{Drivers: []string{DriverMessagingV2}, Retry: -1, DurableQueues: true, Topics: []string{"durable_notifications"}}
		n := newTestNotifier(t, b.url, opts)
		const before, during = 100, 100
		for i := 0; i < before; i++ {
			if err := n.Info(ctx, "test.restart", i); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			for i := before; i < before+during; i++ {
				if err := n.Info(sctx, "test.restart", i); err != nil {
					errs <- err
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		b.restart(t)
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatalf("Notify across the restart: %v", err)
		default:
		}
		sub := newTestSubscriber(t, b.url, SubscriberConfig{DurableQueues: true})
		ch, err := sub.Subscribe(ctx, "durable_notifications.info")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for len(got) < before+during {
			m := next(t, ch, 20*time.Second)
			got[string(m.Payload)] = true
			m.Ack()
		}
	})

	t.Run("non-durable", func(t *testing.T) {
		// Its own exchange: "nova" is durable on this broker now.
		opts := Options{Drivers: []string{DriverMessagingV2}, Retry: -1, Topics: []string{"plain_notifications"}, ControlExchange: "nova_plain"}
		n := newTestNotifier(t, b.url, opts)
		for i := 0; i < 50; i++ {
			if err := n.Info(ctx, "test.restart", i); err != nil {
				t.Fatal(err)
			}
		}
		b.restart(t)
		sub := newTestSubscriber(t, b.url, SubscriberConfig{ControlExchange: "nova_plain"})
		ch, err := sub.Subscribe(ctx, "plain_notifications.info")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-ch:
			t.Fatalf("a notification %s survived the restart of a non-durable queue", m.Payload)
		case <-time.After(time.Second):
		}
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := n.Info(sctx, "test.restart", "after"); err != nil {
			t.Fatal(err)
		}
		if m := next(t, ch, 20*time.Second); string(m.Payload) != `"after"` {
			t.Errorf("got %s", m.Payload)
		} else {
			m.Ack()
		}
	})
}
