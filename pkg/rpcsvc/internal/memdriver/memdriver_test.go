package memdriver

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// TestExchangeTypeConflictIsPermanent: as RabbitMQ's PRECONDITION_FAILED, an
// exchange used with the other type fails with driver.ErrPermanent, whether
// a publish or a consumer's declaration comes second.
func TestExchangeTypeConflictIsPermanent(t *testing.T) {
	ctx := context.Background()
	d := Open(t.Name())
	defer d.Close()
	c, err := d.Consume(ctx, driver.ConsumeSpec{
		Queues:   []driver.Queue{{Name: "t_fanout_1", Kind: driver.Transient, Exchange: "t_fanout", ExchangeKind: driver.Fanout}},
		Prefetch: 1,
		Handle:   func(dl driver.Delivery) { _ = dl.Ack() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := d.Publish(ctx, driver.Publishing{Exchange: "t_fanout", ExchangeKind: driver.Fanout, RoutingKey: "t", Body: []byte("{}")}); err != nil {
		t.Fatalf("publish with the exchange's own type: %v", err)
	}
	err = d.Publish(ctx, driver.Publishing{Exchange: "t_fanout", ExchangeKind: driver.Topic, RoutingKey: "t", Body: []byte("{}")})
	if !errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("topic publish to a fanout exchange: %v, want driver.ErrPermanent", err)
	}

	if err := d.Publish(ctx, driver.Publishing{Exchange: "ctl", ExchangeKind: driver.Topic, RoutingKey: "t", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	_, err = d.Consume(ctx, driver.ConsumeSpec{
		Queues: []driver.Queue{{Name: "t_fanout_2", Kind: driver.Transient, Exchange: "ctl", ExchangeKind: driver.Fanout}},
		Handle: func(dl driver.Delivery) { _ = dl.Ack() },
	})
	if !errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("fanout queue on a topic exchange: %v, want driver.ErrPermanent", err)
	}

	if _, err := ParseName("rabbit://h"); !errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("ParseName of a non-memory URL: %v, want driver.ErrPermanent", err)
	}
}

// TestQueueSemantics: competing consumers share a queue round robin within
// their prefetch, a nack with requeue redelivers marked Redelivered, and what
// a closed consumer held returns to the queue.
func TestQueueSemantics(t *testing.T) {
	ctx := context.Background()
	d := Open(t.Name())
	defer d.Close()
	q := driver.Queue{Name: "work", Kind: driver.Shared, Exchange: "ctl", ExchangeKind: driver.Topic}
	held := make(chan driver.Delivery, 16)
	a, err := d.Consume(ctx, driver.ConsumeSpec{Queues: []driver.Queue{q}, Prefetch: 2, Handle: func(dl driver.Delivery) { held <- dl }})
	if err != nil {
		t.Fatal(err)
	}
	var bGot atomic.Int32
	b, err := d.Consume(ctx, driver.ConsumeSpec{Queues: []driver.Queue{q}, Prefetch: 1, Handle: func(dl driver.Delivery) { bGot.Add(1); held <- dl }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range 5 {
		if err := d.Publish(ctx, driver.Publishing{Exchange: "ctl", RoutingKey: "work", Body: []byte("m")}); err != nil {
			t.Fatal(err)
		}
	}
	// Credit: a holds 2, b holds 1; 2 wait in the queue.
	if len(held) != 3 || bGot.Load() != 1 || d.Len("work") != 2 {
		t.Fatalf("handed out %d (b %d), queued %d; want 3 (b 1), 2", len(held), bGot.Load(), d.Len("work"))
	}
	first := <-held
	if err := first.Nack(true); err != nil {
		t.Fatal(err)
	}
	if err := first.Ack(); err == nil {
		t.Fatal("a delivery settled twice")
	}
	// The freed credit took the requeued message back at once.
	if len(held) != 3 || d.Len("work") != 2 {
		t.Fatalf("after a nack: %d handed out, %d queued; want 3, 2", len(held), d.Len("work"))
	}
	redelivered := 0
	for range 3 {
		if dl := <-held; dl.Redelivered {
			redelivered++
		}
	}
	if redelivered != 1 {
		t.Fatalf("%d deliveries marked Redelivered, want the nacked one", redelivered)
	}
	// a holds 2 unacked: closing it returns them; b has no credit left.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := d.Len("work"); n != 4 {
		t.Fatalf("after closing a consumer that held 2 messages, %d queued, want 4", n)
	}
}

// BenchmarkPublishConsume: one publish, delivery and ack on a queue with one
// consumer.
func BenchmarkPublishConsume(b *testing.B) {
	ctx := context.Background()
	d := Open(b.Name())
	defer d.Close()
	var n atomic.Int64
	c, err := d.Consume(ctx, driver.ConsumeSpec{
		Queues:   []driver.Queue{{Name: "q", Kind: driver.Shared, Exchange: "ctl", ExchangeKind: driver.Topic}},
		Prefetch: 64,
		Handle:   func(dl driver.Delivery) { _ = dl.Ack(); n.Add(1) },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := []byte(`{"oslo.version": "2.0", "oslo.message": "{}"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Publish(ctx, driver.Publishing{Exchange: "ctl", RoutingKey: "q", Body: body}); err != nil {
			b.Fatal(err)
		}
	}
	for n.Load() < int64(b.N) {
		runtime.Gosched()
	}
}
