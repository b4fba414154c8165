// Package memdriver is rpcsvc's in-process broker for memory:// transports:
// AMQP's semantics (topic and fanout exchanges, queues with competing
// consumers, prefetch, ack, nack with requeue, redelivery of what a closed
// consumer held) with watermill's gochannel as the pipe into each queue.
//
// Publish returns once the message is in every bound queue (gochannel's
// BlockPublishUntilSubscriberAck), which is this broker's publisher confirm.
package memdriver

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

var (
	registryMu sync.Mutex
	registry   = map[string]*broker{}
)

// Open returns a driver on the process-wide broker called name; drivers
// opened with the same name share queues.
func Open(name string) *Driver {
	registryMu.Lock()
	defer registryMu.Unlock()
	b, ok := registry[name]
	if !ok {
		b = newBroker(name)
		registry[name] = b
	}
	b.refs++
	return &Driver{b: b}
}

// Driver is one connection to an in-process broker.
type Driver struct {
	b      *broker
	mu     sync.Mutex
	closed bool
	cons   []*consumer
}

type broker struct {
	name string
	gc   *gochannel.GoChannel
	refs int

	mu       sync.Mutex
	queues   map[string]*queue
	bindings map[string]map[string]bool // exchange -> queue names
	fanouts  map[string]bool            // fanout exchanges
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

type item struct {
	body        []byte
	redelivered bool
}

type queue struct {
	name      string
	mu        sync.Mutex
	msgs      []item
	consumers []*consumer
	next      int
}

func newBroker(name string) *broker {
	ctx, cancel := context.WithCancel(context.Background())
	return &broker{
		name:     name,
		gc:       gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{}),
		queues:   map[string]*queue{},
		bindings: map[string]map[string]bool{},
		fanouts:  map[string]bool{},
		ctx:      ctx,
		cancel:   cancel,
	}
}

func pipeTopic(q string) string { return "queue:" + q }

// declare creates q (and its pump from gochannel) if needed, and binds it.
func (b *broker) declare(q driver.Queue) (*queue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	qu, ok := b.queues[q.Name]
	if !ok {
		qu = &queue{name: q.Name}
		msgs, err := b.gc.Subscribe(b.ctx, pipeTopic(q.Name))
		if err != nil {
			return nil, fmt.Errorf("memdriver: subscribing queue %q: %w", q.Name, err)
		}
		b.queues[q.Name] = qu
		b.wg.Add(1)
		go b.pump(qu, msgs)
	}
	if q.Kind != driver.Reply {
		if b.bindings[q.Exchange] == nil {
			b.bindings[q.Exchange] = map[string]bool{}
		}
		b.bindings[q.Exchange][q.Name] = true
		if q.ExchangeKind == driver.Fanout {
			b.fanouts[q.Exchange] = true
		}
	}
	return qu, nil
}

// pump moves messages from the gochannel pipe into the queue.
func (b *broker) pump(q *queue, msgs <-chan *message.Message) {
	defer b.wg.Done()
	for m := range msgs {
		q.mu.Lock()
		q.msgs = append(q.msgs, item{body: m.Payload})
		q.mu.Unlock()
		m.Ack()
		q.dispatch()
	}
}

// dispatch hands queued messages to consumers with credit, round robin.
func (q *queue) dispatch() {
	for {
		q.mu.Lock()
		if len(q.msgs) == 0 || len(q.consumers) == 0 {
			q.mu.Unlock()
			return
		}
		var c *consumer
		for i := 0; i < len(q.consumers); i++ {
			cand := q.consumers[(q.next+i)%len(q.consumers)]
			if cand.takeCredit() {
				c = cand
				q.next = (q.next + i + 1) % len(q.consumers)
				break
			}
		}
		if c == nil {
			q.mu.Unlock()
			return
		}
		it := q.msgs[0]
		q.msgs = q.msgs[1:]
		q.mu.Unlock()
		c.deliver(q, it)
	}
}

func (q *queue) requeue(it item) {
	it.redelivered = true
	q.mu.Lock()
	q.msgs = append([]item{it}, q.msgs...)
	q.mu.Unlock()
}

func (q *queue) remove(c *consumer) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.consumers {
		if x == c {
			q.consumers = append(q.consumers[:i], q.consumers[i+1:]...)
			return
		}
	}
}

// Publish implements driver.Driver.
func (d *Driver) Publish(ctx context.Context, p driver.Publishing) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	b := d.b
	var targets []string
	b.mu.Lock()
	switch {
	case p.Exchange == "":
		if _, ok := b.queues[p.RoutingKey]; ok {
			targets = []string{p.RoutingKey}
		}
	case b.fanouts[p.Exchange]:
		for q := range b.bindings[p.Exchange] {
			targets = append(targets, q)
		}
	default:
		if b.bindings[p.Exchange][p.RoutingKey] {
			targets = []string{p.RoutingKey}
		}
	}
	b.mu.Unlock()
	for _, q := range targets {
		m := message.NewMessage(watermill.NewUUID(), p.Body)
		if err := b.gc.Publish(pipeTopic(q), m); err != nil {
			return fmt.Errorf("memdriver: publish to %q: %w", q, err)
		}
	}
	return nil
}

// DeadLetter implements driver.Driver: `<queue>.dlq` is an ordinary queue.
func (d *Driver) DeadLetter(ctx context.Context, queue string, body []byte, reason string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	dlq := driver.DLQName(queue)
	if _, err := d.b.declare(driver.Queue{Name: dlq, Kind: driver.Reply}); err != nil {
		return err
	}
	return d.Publish(ctx, driver.Publishing{RoutingKey: dlq, Body: body})
}

// Len is the number of ready messages in queue (for tests: a DLQ's depth).
func (d *Driver) Len(queue string) int {
	d.b.mu.Lock()
	q := d.b.queues[queue]
	d.b.mu.Unlock()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

func (d *Driver) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return driver.ErrClosed
	}
	return nil
}

// Consume implements driver.Driver.
func (d *Driver) Consume(ctx context.Context, spec driver.ConsumeSpec) (driver.Consumer, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if spec.Prefetch < 1 {
		spec.Prefetch = 1
	}
	c := &consumer{spec: spec, unacked: map[*item]*queue{}}
	var qs []*queue
	for _, q := range spec.Queues {
		qu, err := d.b.declare(q)
		if err != nil {
			return nil, err
		}
		qs = append(qs, qu)
	}
	c.queues = qs
	for _, qu := range qs {
		qu.mu.Lock()
		qu.consumers = append(qu.consumers, c)
		qu.mu.Unlock()
	}
	d.mu.Lock()
	d.cons = append(d.cons, c)
	d.mu.Unlock()
	for _, qu := range qs {
		qu.dispatch()
	}
	return c, nil
}

// Close implements driver.Driver; the last driver of a broker stops it.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	cons := d.cons
	d.mu.Unlock()
	for _, c := range cons {
		_ = c.Close()
	}
	registryMu.Lock()
	d.b.refs--
	last := d.b.refs == 0
	if last {
		delete(registry, d.b.name)
	}
	registryMu.Unlock()
	if last {
		d.b.cancel()
		err := d.b.gc.Close()
		d.b.wg.Wait()
		return err
	}
	return nil
}

type consumer struct {
	spec   driver.ConsumeSpec
	queues []*queue

	mu        sync.Mutex
	credit    int // deliveries outstanding
	cancelled bool
	unacked   map[*item]*queue
}

func (c *consumer) takeCredit() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelled || c.credit >= c.spec.Prefetch {
		return false
	}
	c.credit++
	return true
}

func (c *consumer) deliver(q *queue, it item) {
	key := &it
	c.mu.Lock()
	c.unacked[key] = q
	c.mu.Unlock()
	var once sync.Once
	settle := func(requeue bool) error {
		done := false
		once.Do(func() { done = true })
		if !done {
			return fmt.Errorf("memdriver: delivery from %q already settled", q.name)
		}
		c.mu.Lock()
		_, held := c.unacked[key]
		delete(c.unacked, key)
		c.credit--
		c.mu.Unlock()
		if !held {
			return fmt.Errorf("memdriver: delivery from %q was requeued when its consumer closed", q.name)
		}
		if requeue {
			q.requeue(it)
		}
		q.dispatch()
		return nil
	}
	c.spec.Handle(driver.Delivery{
		Queue:       q.name,
		Body:        it.body,
		Redelivered: it.redelivered,
		Ack:         func() error { return settle(false) },
		Nack:        func(requeue bool) error { return settle(requeue) },
	})
}

// Cancel implements driver.Consumer.
func (c *consumer) Cancel(context.Context) error {
	c.mu.Lock()
	c.cancelled = true
	c.mu.Unlock()
	for _, q := range c.queues {
		q.remove(c)
	}
	return nil
}

// Close implements driver.Consumer: unacked deliveries return to their queue.
func (c *consumer) Close() error {
	_ = c.Cancel(context.Background())
	c.mu.Lock()
	held := c.unacked
	c.unacked = map[*item]*queue{}
	c.mu.Unlock()
	touched := map[*queue]bool{}
	for it, q := range held {
		q.requeue(*it)
		touched[q] = true
	}
	for q := range touched {
		q.dispatch()
	}
	return nil
}

// ParseName returns the broker name of a memory:// URL.
func ParseName(url string) (string, error) {
	rest, ok := strings.CutPrefix(url, "memory://")
	if !ok {
		return "", fmt.Errorf("transport_url %q is not memory://", url)
	}
	return rest, nil
}
