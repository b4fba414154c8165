package amqpdriver

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/testenv"
)

// When the broker cancels a consumer (here: its queue is deleted, as a
// failover with x-cancel-on-ha-failover does), the consumer subscribes
// again after kombu_reconnect_delay, on both of its queues: messages
// published afterwards are delivered. Consuming with
// enable_cancel_on_failover sends x-cancel-on-ha-failover, which the broker
// accepts.
func TestBrokerCancelResubscribes(t *testing.T) {
	testenv.RequireRabbit(t)
	u, err := ParseURL(testenv.OsloURL(testenv.RabbitURL()))
	if err != nil {
		t.Fatal(err)
	}
	delay := 200 * time.Millisecond
	d, err := Open(context.Background(), Config{URL: u, TransientTTL: time.Minute, CancelOnFailover: true, Reconnect: Reconnect{Delay: delay}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	exchange := testenv.UniqueName("gonova_cancel_x_")
	qa, qb := testenv.UniqueName("gonova_cancel_a_"), testenv.UniqueName("gonova_cancel_b_")
	var mu sync.Mutex
	got := map[string][]string{}
	interrupted := make(chan error, 4)
	resumed := make(chan struct{}, 4)
	c, err := d.Consume(context.Background(), driver.ConsumeSpec{
		Queues: []driver.Queue{
			{Name: qa, Kind: driver.Shared, Exchange: exchange, ExchangeKind: driver.Topic},
			{Name: qb, Kind: driver.Shared, Exchange: exchange, ExchangeKind: driver.Topic},
		},
		Prefetch: 4,
		Handle: func(dl driver.Delivery) {
			mu.Lock()
			got[dl.Queue] = append(got[dl.Queue], string(dl.Body))
			mu.Unlock()
			_ = dl.Ack()
		},
		Interrupted: func(err error) { interrupted <- err },
		Resumed:     func() { resumed <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(qa, false, false, false)
		_, _ = ch.QueueDelete(qb, false, false, false)
		_ = ch.ExchangeDelete(exchange, false, false)
	})
	deleted := time.Now()
	if _, err := ch.QueueDelete(qa, false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-interrupted:
		if !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("Interrupted(%v), want the broker's cancel named", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the broker's cancel was not noticed")
	}
	select {
	case <-resumed:
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer did not subscribe again")
	}
	if took := time.Since(deleted); took < delay {
		t.Errorf("subscribed again after %s, before kombu_reconnect_delay %s", took, delay)
	}
	for _, q := range []string{qa, qb} {
		if err := d.Publish(context.Background(), driver.Publishing{Exchange: exchange, RoutingKey: q, Body: []byte("after-" + q), Mandatory: true}); err != nil {
			t.Fatalf("publish to %s after the cancel: %v", q, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		done := len(got[qa]) == 1 && len(got[qb]) == 1
		snapshot := map[string][]string{qa: got[qa], qb: got[qb]}
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries after the cancel: %v", snapshot)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// x-cancel-on-ha-failover goes with every subscription but those of quorum
// queues, which RabbitMQ refuses it on.
func TestConsumeArgs(t *testing.T) {
	shared := driver.Queue{Name: "compute", Kind: driver.Shared}
	reply := driver.Queue{Name: "reply_x", Kind: driver.Reply}
	for _, tc := range []struct {
		cfg  Config
		q    driver.Queue
		want bool
	}{
		{Config{}, shared, false},
		{Config{CancelOnFailover: true}, shared, true},
		{Config{CancelOnFailover: true, QuorumQueue: true}, shared, false},
		{Config{CancelOnFailover: true, QuorumQueue: true}, reply, true},
	} {
		args := consumeArgs(tc.cfg, tc.q)
		if got := args["x-cancel-on-ha-failover"] == true; got != tc.want {
			t.Errorf("consumeArgs(%+v, %s) = %v, want x-cancel-on-ha-failover %v", tc.cfg, tc.q.Name, args, tc.want)
		}
	}
}
