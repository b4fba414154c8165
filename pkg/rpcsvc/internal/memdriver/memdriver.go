// Package memdriver is rpcsvc's in-process broker for memory:// transports:
// AMQP's semantics (topic and fanout exchanges, queues with competing
// consumers, prefetch, ack, nack with requeue, redelivery of what a closed
// consumer held) on plain Go queues.
//
// Publish returns once the message is in every bound queue, which is this
// broker's publisher confirm (a Mandatory message that no queue takes fails
// with a *driver.UnroutableError, as RabbitMQ returns it); the queue hands it to a consumer with credit
// right away, on the publishing goroutine (as an ack hands the next message
// on the acking one), so ConsumeSpec.Handle must not block, as the driver
// contract says. Declaring an exchange with another type than it has fails
// with driver.ErrPermanent, as RabbitMQ's PRECONDITION_FAILED does.
package memdriver

import (
	"context"
	"fmt"
	"strings"
	"sync"

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
	refs int

	mu        sync.Mutex
	queues    map[string]*queue
	bindings  map[string]map[string]bool     // exchange -> queue names
	exchanges map[string]driver.ExchangeKind // declared exchanges: Topic or Fanout
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
	return &broker{
		name:      name,
		queues:    map[string]*queue{},
		bindings:  map[string]map[string]bool{},
		exchanges: map[string]driver.ExchangeKind{},
	}
}

// declareExchange records exchange name of kind (b.mu held). As amqpdriver
// declares every exchange that is not fanout as a topic exchange, so does
// this broker; an exchange declared before with the other type is a
// permanent error.
func (b *broker) declareExchange(name string, kind driver.ExchangeKind) error {
	if kind != driver.Fanout {
		kind = driver.Topic
	}
	if have, ok := b.exchanges[name]; ok && have != kind {
		return driver.Permanent(fmt.Errorf("memdriver: exchange %q exists as a %s exchange, not %s", name, kindName(have), kindName(kind)))
	}
	b.exchanges[name] = kind
	return nil
}

func kindName(k driver.ExchangeKind) string {
	if k == driver.Fanout {
		return "fanout"
	}
	return "topic"
}

// declare creates q if needed, and binds it.
func (b *broker) declare(q driver.Queue) (*queue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q.Kind != driver.Reply {
		if err := b.declareExchange(q.Exchange, q.ExchangeKind); err != nil {
			return nil, fmt.Errorf("memdriver: declaring queue %q: %w", q.Name, err)
		}
	}
	qu, ok := b.queues[q.Name]
	if !ok {
		qu = &queue{name: q.Name}
		b.queues[q.Name] = qu
	}
	if q.Kind != driver.Reply {
		if b.bindings[q.Exchange] == nil {
			b.bindings[q.Exchange] = map[string]bool{}
		}
		b.bindings[q.Exchange][q.Name] = true
	}
	return qu, nil
}

// push appends a published message to q.
func (q *queue) push(body []byte) {
	q.mu.Lock()
	q.msgs = append(q.msgs, item{body: body})
	q.mu.Unlock()
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
	var one [1]*queue
	var targets []*queue
	b.mu.Lock()
	switch {
	case p.Exchange == "":
		if q, ok := b.queues[p.RoutingKey]; ok {
			one[0] = q
			targets = one[:]
		}
	default:
		if err := b.declareExchange(p.Exchange, p.ExchangeKind); err != nil {
			b.mu.Unlock()
			return fmt.Errorf("memdriver: publish to %q: %w", p.Exchange, err)
		}
		if b.exchanges[p.Exchange] == driver.Fanout {
			for name := range b.bindings[p.Exchange] {
				targets = append(targets, b.queues[name])
			}
		} else if b.bindings[p.Exchange][p.RoutingKey] {
			one[0] = b.queues[p.RoutingKey]
			targets = one[:]
		}
	}
	b.mu.Unlock()
	if p.Mandatory && len(targets) == 0 {
		// RabbitMQ's basic.return with NO_ROUTE, before the confirm.
		return &driver.UnroutableError{Exchange: p.Exchange, RoutingKey: p.RoutingKey, Reason: "NO_ROUTE"}
	}
	for _, q := range targets {
		q.push(p.Body)
	}
	for _, q := range targets {
		q.dispatch()
	}
	return nil
}

// PublishAsync implements driver.Driver: publishing here is confirming, so
// the message is in its queues (or returned) before it returns.
func (d *Driver) PublishAsync(ctx context.Context, p driver.Publishing) driver.Confirm {
	if err := d.Publish(ctx, p); err != nil {
		return driver.Failed{Err: err}
	}
	return confirmed
}

// confirmed is the Confirm of every successful publish.
var confirmed driver.Confirm = driver.Failed{}

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
	c := &consumer{spec: spec, unacked: map[*delivery]struct{}{}}
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

// Close implements driver.Driver; the last driver of a broker forgets it (a
// later Open of the name starts an empty one).
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
	if d.b.refs == 0 {
		delete(registry, d.b.name)
	}
	registryMu.Unlock()
	return nil
}

type consumer struct {
	spec   driver.ConsumeSpec
	queues []*queue

	mu        sync.Mutex
	credit    int // deliveries outstanding
	cancelled bool
	unacked   map[*delivery]struct{}
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

// delivery is one message handed to a consumer; it is unacked until settled.
type delivery struct {
	c       *consumer
	q       *queue
	it      item
	settled bool // under c.mu
}

func (c *consumer) deliver(q *queue, it item) {
	dl := &delivery{c: c, q: q, it: it}
	c.mu.Lock()
	c.unacked[dl] = struct{}{}
	c.mu.Unlock()
	c.spec.Handle(driver.Delivery{
		Queue:       q.name,
		Body:        it.body,
		Redelivered: it.redelivered,
		Settler:     dl,
	})
}

// Ack implements driver.Settler (a delivery settles itself: no tag).
func (dl *delivery) Ack(uint64) error { return dl.settle(false) }

// Nack implements driver.Settler.
func (dl *delivery) Nack(_ uint64, requeue bool) error { return dl.settle(requeue) }

func (dl *delivery) settle(requeue bool) error {
	c := dl.c
	c.mu.Lock()
	if dl.settled {
		c.mu.Unlock()
		return fmt.Errorf("memdriver: delivery from %q already settled", dl.q.name)
	}
	dl.settled = true
	_, held := c.unacked[dl]
	delete(c.unacked, dl)
	c.credit--
	c.mu.Unlock()
	if !held {
		return fmt.Errorf("memdriver: delivery from %q was requeued when its consumer closed", dl.q.name)
	}
	if requeue {
		dl.q.requeue(dl.it)
	}
	dl.q.dispatch()
	return nil
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
	c.unacked = map[*delivery]struct{}{}
	c.mu.Unlock()
	touched := map[*queue]bool{}
	for dl := range held {
		dl.q.requeue(dl.it)
		touched[dl.q] = true
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
		return "", driver.Permanent(fmt.Errorf("transport_url %q is not memory://", url))
	}
	return rest, nil
}
