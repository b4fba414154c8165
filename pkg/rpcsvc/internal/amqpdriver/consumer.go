package amqpdriver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// consumer consumes a set of queues on one channel, and does it again on
// every new connection.
type consumer struct {
	d    *Driver
	spec driver.ConsumeSpec

	mu        sync.Mutex
	ch        *amqp.Channel
	acker     *acker // settles ch's deliveries in batches
	tags      []string
	cancelled bool
	// brokerCancel: the broker cancelled a subscription on ch (watchCancels)
	brokerCancel bool

	// streams holds the offsets of the stream queues among spec.Queues.
	streams map[string]*streamOffsets
	// refusal is the text of the last PreconditionError logged while
	// resuming, so that a broker refusing the same declaration again and
	// again is logged once (until it changes or resuming succeeds).
	refusal string

	stop chan struct{} // closed by Cancel or Close
	once sync.Once
	done chan struct{}
}

// Consume implements driver.Driver.
func (d *Driver) Consume(ctx context.Context, spec driver.ConsumeSpec) (driver.Consumer, error) {
	if spec.Prefetch < 1 {
		spec.Prefetch = 1
	}
	c := &consumer{d: d, spec: spec, streams: map[string]*streamOffsets{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, q := range spec.Queues {
		if d.cfg.isStream(q) {
			c.streams[q.Name] = newStreamOffsets()
		}
	}
	conn, _, err := d.waitConnected(ctx)
	if err != nil {
		return nil, err
	}
	ended, err := c.start(conn)
	if err != nil {
		return nil, err
	}
	d.wg.Add(1)
	go c.run(ended)
	return c, nil
}

// delivery is one message with the acker of the channel it came on.
type delivery struct {
	queue string
	dl    amqp.Delivery
	acker *acker
	// stream and offset are the stream position of a delivery from a
	// stream queue (stream nil otherwise).
	stream *streamOffsets
	offset int64
}

// start opens a channel, declares and consumes every queue. Each queue's
// deliveries are handed to Handle by a goroutine of its own, without a merge
// channel in between (one goroutine hand-off less per message). The returned
// channel is closed once every queue's deliveries have ended (the channel or
// the connection closed).
func (c *consumer) start(conn *amqp.Connection) (<-chan struct{}, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("%w: opening a channel: %v", driver.ErrNotConnected, err)
	}
	fail := func(err error) (<-chan struct{}, error) {
		_ = ch.Close()
		return nil, err
	}
	if err := ch.Qos(c.spec.Prefetch, 0, false); err != nil {
		return fail(fmt.Errorf("setting prefetch %d: %w", c.spec.Prefetch, permanent(err)))
	}
	for _, q := range c.spec.Queues {
		if err := declareQueue(ch, c.d.cfg, q); err != nil {
			return fail(err)
		}
	}
	cancels := ch.NotifyCancel(make(chan string, len(c.spec.Queues)+1))
	ended := make(chan struct{})
	coalesce := 0
	if c.spec.Prefetch >= 8 { // a held ack never takes more than a quarter of the window
		coalesce = c.spec.Prefetch / 4
	}
	ak := newAcker(ch, coalesce)
	fail = func(err error) (<-chan struct{}, error) {
		_ = ak.Abandon()
		_ = ch.Close()
		return nil, err
	}
	var tags []string
	var fwd sync.WaitGroup
	tagQueue := map[string]string{}
	for _, q := range c.spec.Queues {
		tag := "gonova-" + q.Name + "-" + fmt.Sprint(time.Now().UnixNano())
		tagQueue[tag] = q.Name
		args := consumeArgs(c.d.cfg, q)
		so := c.streams[q.Name]
		if so != nil {
			// oslo consumes a stream with x-stream-offset alone.
			args = amqp.Table{"x-stream-offset": so.resume()}
		}
		dels, err := ch.Consume(q.Name, tag, false, false, false, false, args)
		if err != nil {
			return fail(fmt.Errorf("consuming %q: %w", q.Name, explain(err, q.Name)))
		}
		tags = append(tags, tag)
		fwd.Add(1)
		go func(queue string) {
			defer fwd.Done()
			for dl := range dels {
				d := delivery{queue: queue, dl: dl, acker: ak}
				if so != nil {
					d.stream, d.offset = so, so.received(dl)
				}
				c.handle(d)
			}
		}(q.Name)
	}
	go func() { fwd.Wait(); close(ended) }()
	c.mu.Lock()
	c.ch, c.acker, c.tags = ch, ak, tags
	c.mu.Unlock()
	go c.watchCancels(ch, cancels, tagQueue)
	return ended, nil
}

func (c *consumer) run(ended <-chan struct{}) {
	defer c.d.wg.Done()
	defer close(c.done)
	for {
		<-ended
		// The channel died (connection lost) or consuming was cancelled.
		c.mu.Lock()
		cancelled := c.cancelled
		c.mu.Unlock()
		if cancelled {
			return // Close sends the acks still pending
		}
		// The channel is gone (or the driver is closing it): what was not
		// acked comes back on the next one.
		c.mu.Lock()
		old := c.acker
		c.mu.Unlock()
		if err := old.Abandon(); err != nil && !errors.Is(err, amqp.ErrClosed) {
			c.d.log.Warn("rpcsvc: acknowledgements failed before the channel closed; the broker redelivers those messages", "error", err)
		}
		if c.d.isClosing() {
			return
		}
		cancelledByBroker := c.takeBrokerCancel()
		if c.spec.Interrupted != nil {
			why := "rpcsvc: consumer channel closed (connection lost)"
			if cancelledByBroker {
				why = "rpcsvc: the broker cancelled the consumer (queue deleted or failed over)"
			}
			c.spec.Interrupted(errors.New(why))
		}
		if cancelledByBroker && !c.pause(newPlan(c.d.cfg.Reconnect, 1, 0).first()) {
			return
		}
		var err error
		ended, err = c.restart()
		if err != nil {
			return // stopped or driver closed
		}
		if c.spec.Resumed != nil {
			c.spec.Resumed()
		}
	}
}

// pause waits d unless the consumer or the driver stops first.
func (c *consumer) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	case <-c.d.closing:
		return false
	}
}

// restart waits for a connection and consumes again, retrying declaration
// failures with a pause.
func (c *consumer) restart() (<-chan struct{}, error) {
	ctx, cancel := context.WithCancel(c.d.ctx)
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		conn, _, err := c.d.waitConnected(ctx)
		if err != nil {
			return nil, err
		}
		ended, err := c.start(conn)
		if err == nil {
			if c.refusal != "" {
				c.d.log.Info("rpcsvc: the broker accepted the declarations again; consuming")
				c.refusal = ""
			}
			return ended, nil
		}
		wait := 500 * time.Millisecond
		var pe *PreconditionError
		switch {
		case errors.As(err, &pe) && err.Error() == c.refusal:
			// Logged already: retried quietly (another service or an
			// operator must change the queue), every 5s.
			wait = 5 * time.Second
		case errors.As(err, &pe):
			c.refusal = err.Error()
			c.d.log.Error("rpcsvc: the broker refuses this service's queue declaration; not consuming until it changes (retrying every 5s)", "error", err)
			wait = 5 * time.Second
		default:
			c.d.log.Warn("rpcsvc: resuming a consumer failed, retrying", "error", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// streamSettler settles a stream delivery: its offset is recorded as
// handled, and a nack is an ack (see handle).
type streamSettler struct {
	acker  *acker
	so     *streamOffsets
	offset int64
}

func (s *streamSettler) Ack(tag uint64) error {
	s.so.settled(s.offset)
	return s.acker.Ack(tag)
}

func (s *streamSettler) Nack(tag uint64, _ bool) error { return s.Ack(tag) }

func (c *consumer) handle(d delivery) {
	if d.stream != nil {
		// A stream keeps its messages: a settled offset is not read again
		// after a reconnect. RabbitMQ (3.10) answers basic.nack or
		// basic.reject on a stream with NOT_IMPLEMENTED, a connection
		// error that closes every channel of the process: a nack is sent
		// as an ack. The message is dropped for this server (a stream
		// never redelivers), as oslo drops a fanout cast whose handler
		// failed.
		c.spec.Handle(driver.Delivery{
			Queue:       d.queue,
			Body:        d.dl.Body,
			Redelivered: d.dl.Redelivered,
			Tag:         d.dl.DeliveryTag,
			Settler:     &streamSettler{acker: d.acker, so: d.stream, offset: d.offset},
		})
		return
	}
	c.spec.Handle(driver.Delivery{
		Queue:       d.queue,
		Body:        d.dl.Body,
		Redelivered: d.dl.Redelivered,
		Tag:         d.dl.DeliveryTag,
		Settler:     d.acker,
	})
}

// Cancel implements driver.Consumer: stop deliveries, keep the channel open so
// in-flight deliveries can still be acked.
func (c *consumer) Cancel(ctx context.Context) error {
	c.mu.Lock()
	if c.cancelled {
		c.mu.Unlock()
		return nil
	}
	c.cancelled = true
	ch, tags := c.ch, c.tags
	c.mu.Unlock()
	c.once.Do(func() { close(c.stop) })
	var errs []error
	if ch != nil && !ch.IsClosed() {
		for _, t := range tags {
			if err := ch.Cancel(t, false); err != nil && !errors.Is(err, amqp.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// Close implements driver.Consumer.
func (c *consumer) Close() error {
	c.mu.Lock()
	c.cancelled = true
	ch, ak := c.ch, c.acker
	c.mu.Unlock()
	c.once.Do(func() { close(c.stop) })
	var err error
	if ak != nil {
		// Acks still pending go out before the channel closes (closing
		// would requeue those messages).
		if err = ak.Close(); errors.Is(err, amqp.ErrClosed) {
			err = nil
		}
	}
	if ch != nil && !ch.IsClosed() {
		for _, q := range c.spec.Queues {
			if q.DeleteOnClose {
				// Best effort: on a lost connection the queue expires.
				if _, derr := ch.QueueDelete(q.Name, false, false, false); derr != nil {
					c.d.log.Debug("rpcsvc: deleting a fanout queue at stop failed; it expires", "queue", q.Name, "error", derr)
					break // the channel is gone
				}
			}
		}
	}
	if ch != nil {
		if cerr := ch.Close(); cerr != nil && !errors.Is(cerr, amqp.ErrClosed) && err == nil {
			err = cerr
		}
	}
	<-c.done
	return err
}
