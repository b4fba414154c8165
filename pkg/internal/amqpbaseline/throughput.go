package amqpbaseline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// ThroughputOptions describes one publish-and-consume run.
type ThroughputOptions struct {
	// URL is the broker, amqp://user:pass@host:port/vhost.
	URL string
	// Messages is how many messages to publish and consume; must be > 0.
	Messages int
	// BodySize is the size of each message body in bytes (default 256, about
	// the size of a small oslo cast).
	BodySize int
	// Confirms puts the publishing channel in confirm mode; each publish is
	// then waited for, in a pipelined window of ConfirmWindow messages.
	Confirms bool
	// ConfirmWindow is how many confirms may be outstanding (default 256).
	ConfirmWindow int
	// Senders > 0 publishes from that many goroutines sharing the
	// publishing channel, each waiting for its message's confirm before it
	// publishes the next (ConfirmWindow does not apply): what callers of a
	// send that returns once confirmed do. Requires Confirms.
	Senders int
	// DurableQueue declares the queue durable. oslo's default
	// (amqp_durable_queues = false) is a non-durable queue, into which it
	// still publishes with delivery_mode 2.
	DurableQueue bool
	// Transient publishes with delivery_mode 1 instead of 2 (persistent).
	Transient bool
	// Prefetch is the consumer's QoS prefetch count (default 64).
	Prefetch int
	// Prefill publishes every message (with confirms, so that all are queued)
	// before the consumer starts; Elapsed then measures only the consumer
	// draining the queue: a server's handling rate, without the publisher.
	Prefill bool
	// Queue is the queue name; empty means a fresh amqpbaseline_<uuid>.
	// The queue is deleted at the end of the run.
	Queue string
	// TopicExchange publishes through a topic exchange of the run's own
	// (<Queue>_x, deleted at the end), bound to the queue with the queue's
	// name as routing key, instead of the default exchange: the path of
	// oslo.messaging's casts, which go to the control exchange (a topic
	// exchange) with the target's "topic.server" as key. The broker's
	// topic routing costs it more per message than the default exchange's
	// lookup by queue name.
	TopicExchange bool
	// Mandatory sets the mandatory flag on every publish, as gonova's
	// casts, calls and replies do, so that the broker returns an
	// unroutable message instead of dropping it.
	Mandatory bool
}

// ThroughputResult is what one run measured.
type ThroughputResult struct {
	// Messages is how many messages were consumed and acked.
	Messages int
	// Elapsed runs from the first publish (with Prefill, from the start of
	// consuming) to the last ack.
	Elapsed time.Duration
	// PublishElapsed runs from the first publish to the last publish
	// returning (to the last confirm, with Confirms).
	PublishElapsed time.Duration
}

// PerSecond is the consumed-and-acked rate.
func (r ThroughputResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

func (o *ThroughputOptions) defaults() error {
	if o.Messages <= 0 {
		return errors.New("amqpbaseline: Messages must be > 0")
	}
	if o.BodySize <= 0 {
		o.BodySize = 256
	}
	if o.ConfirmWindow <= 0 {
		o.ConfirmWindow = 256
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 64
	}
	if o.Senders > 0 && !o.Confirms {
		return errors.New("amqpbaseline: Senders needs Confirms (a sender waits for its confirm)")
	}
	if o.Queue == "" {
		o.Queue = "amqpbaseline_" + uuid.NewString()
	}
	return nil
}

// Throughput publishes opts.Messages messages on one connection and consumes
// them with one ack each on a second connection, and reports how long that
// took. Every wait is bounded by ctx.
func Throughput(ctx context.Context, opts ThroughputOptions) (ThroughputResult, error) {
	if err := opts.defaults(); err != nil {
		return ThroughputResult{}, err
	}
	res, err := throughput(ctx, opts)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// The socket was cut because ctx ended: say so.
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return res, err
}

func throughput(ctx context.Context, opts ThroughputOptions) (ThroughputResult, error) {
	pubConn, err := dial(opts.URL)
	if err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: dial publisher: %w", err)
	}
	defer pubConn.shut(5 * time.Second)
	subConn, err := dial(opts.URL)
	if err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: dial consumer: %w", err)
	}
	defer subConn.shut(5 * time.Second)
	// amqp091-go's writes ignore ctx: when ctx ends, cut both sockets so that
	// nothing below can block past it.
	stop := context.AfterFunc(ctx, func() {
		pubConn.cut()
		subConn.cut()
	})
	defer stop()

	sub, err := subConn.Channel()
	if err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: consumer channel: %w", err)
	}
	// Auto-delete: the queue goes when its consumer does, even if the
	// explicit delete below cannot run (socket cut).
	if _, err := sub.QueueDeclare(opts.Queue, opts.DurableQueue, true, false, false, nil); err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: declare %s: %w", opts.Queue, err)
	}
	defer func() {
		// A fresh channel: sub may be closed by then. Best effort only.
		if ch, err := subConn.Channel(); err == nil {
			_, _ = ch.QueueDelete(opts.Queue, false, false, false)
			_ = ch.Close()
		}
	}()
	if ex := opts.exchange(); ex != "" {
		if err := sub.ExchangeDeclare(ex, "topic", false, true, false, false, nil); err != nil {
			return ThroughputResult{}, fmt.Errorf("amqpbaseline: declare exchange %s: %w", ex, err)
		}
		defer func() {
			if ch, err := subConn.Channel(); err == nil {
				_ = ch.ExchangeDelete(ex, false, false)
				_ = ch.Close()
			}
		}()
		if err := sub.QueueBind(opts.Queue, opts.Queue, ex, false, nil); err != nil {
			return ThroughputResult{}, fmt.Errorf("amqpbaseline: bind %s to %s: %w", opts.Queue, ex, err)
		}
	}
	if err := sub.Qos(opts.Prefetch, 0, false); err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: qos: %w", err)
	}
	pub, err := pubConn.Channel()
	if err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: publisher channel: %w", err)
	}
	if opts.Prefill {
		opts.Confirms = true
	}
	if opts.Confirms {
		if err := pub.Confirm(false); err != nil {
			return ThroughputResult{}, fmt.Errorf("amqpbaseline: confirm mode: %w", err)
		}
	}
	msg := publishing(opts)

	var start time.Time
	var pubElapsed time.Duration
	if opts.Prefill {
		start = time.Now()
		if err := publishAll(ctx, pub, opts, msg); err != nil {
			return ThroughputResult{}, err
		}
		pubElapsed = time.Since(start)
	}
	consumeStart := time.Now()
	deliveries, err := sub.ConsumeWithContext(ctx, opts.Queue, "", false, false, false, false, nil)
	if err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: consume: %w", err)
	}

	consumed := make(chan error, 1)
	var done time.Time
	go func() {
		n := 0
		for n < opts.Messages {
			select {
			case d, ok := <-deliveries:
				if !ok {
					consumed <- fmt.Errorf("amqpbaseline: deliveries closed after %d messages", n)
					return
				}
				if err := d.Ack(false); err != nil {
					consumed <- fmt.Errorf("amqpbaseline: ack: %w", err)
					return
				}
				n++
			case <-ctx.Done():
				consumed <- fmt.Errorf("amqpbaseline: consumed %d of %d: %w", n, opts.Messages, ctx.Err())
				return
			}
		}
		done = time.Now()
		consumed <- nil
	}()

	var pubErr error
	if opts.Prefill {
		start = consumeStart
	} else {
		start = time.Now()
		pubErr = publishAll(ctx, pub, opts, msg)
		pubElapsed = time.Since(start)
	}
	if pubErr != nil {
		// Stop the consumer: closing the channel closes deliveries.
		_ = sub.Close()
		<-consumed
		return ThroughputResult{}, pubErr
	}
	if err := <-consumed; err != nil {
		return ThroughputResult{}, err
	}
	if err := sub.Close(); err != nil {
		return ThroughputResult{}, fmt.Errorf("amqpbaseline: close consumer channel: %w", err)
	}
	// With confirms the last message can be consumed before its confirm
	// reached the publisher: the run ends when both are done.
	return ThroughputResult{Messages: opts.Messages, Elapsed: max(done.Sub(start), pubElapsed), PublishElapsed: pubElapsed}, nil
}

// exchange is the exchange the run publishes to: "" (the default one) or
// its own topic exchange.
func (o ThroughputOptions) exchange() string {
	if o.TopicExchange {
		return o.Queue + "_x"
	}
	return ""
}

// publishing is the message every run sends: oslo's properties, a body of
// opts.BodySize bytes.
func publishing(opts ThroughputOptions) amqp.Publishing {
	mode := amqp.Persistent
	if opts.Transient {
		mode = amqp.Transient
	}
	msg := amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    mode,
		Body:            make([]byte, opts.BodySize),
	}
	for i := range msg.Body {
		msg.Body[i] = 'x'
	}
	return msg
}

// publishAll publishes opts.Messages copies of msg to the queue (through the
// default exchange, or the run's topic exchange),
// keeping at most opts.ConfirmWindow confirms outstanding in confirm mode.
func publishAll(ctx context.Context, pub *amqp.Channel, opts ThroughputOptions, msg amqp.Publishing) error {
	ex := opts.exchange() // once: it is built from the queue's name
	if !opts.Confirms {
		for i := 0; i < opts.Messages; i++ {
			if err := pub.PublishWithContext(ctx, ex, opts.Queue, opts.Mandatory, false, msg); err != nil {
				return fmt.Errorf("amqpbaseline: publish %d: %w", i, err)
			}
		}
		return nil
	}
	wait := func(dc *amqp.DeferredConfirmation) error {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("amqpbaseline: wait confirm: %w", err)
		}
		if !ok {
			return errors.New("amqpbaseline: broker nacked a publish")
		}
		return nil
	}
	if opts.Senders > 0 {
		return publishFromSenders(ctx, pub, opts, msg, wait)
	}
	window := make([]*amqp.DeferredConfirmation, 0, opts.ConfirmWindow)
	for i := 0; i < opts.Messages; i++ {
		if len(window) == opts.ConfirmWindow {
			if err := wait(window[0]); err != nil {
				return err
			}
			window = window[1:]
		}
		dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, ex, opts.Queue, opts.Mandatory, false, msg)
		if err != nil {
			return fmt.Errorf("amqpbaseline: publish %d: %w", i, err)
		}
		window = append(window, dc)
	}
	for _, dc := range window {
		if err := wait(dc); err != nil {
			return err
		}
	}
	return nil
}

// publishFromSenders is publishAll with opts.Senders goroutines, each
// publishing one message and waiting for its confirm at a time.
func publishFromSenders(ctx context.Context, pub *amqp.Channel, opts ThroughputOptions, msg amqp.Publishing, wait func(*amqp.DeferredConfirmation) error) error {
	ex := opts.exchange()
	var next atomic.Int64
	errs := make(chan error, opts.Senders)
	var wg sync.WaitGroup
	for range opts.Senders {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(opts.Messages); i = next.Add(1) - 1 {
				dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, ex, opts.Queue, opts.Mandatory, false, msg)
				if err == nil {
					err = wait(dc)
				}
				if err != nil {
					errs <- fmt.Errorf("amqpbaseline: publish %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
