// Package driver is the seam between rpcsvc's RPC semantics and a message
// broker: the few operations that rpcsvc needs (declare and consume queues,
// publish with confirmation, dead-letter) and nothing of oslo's message format.
// amqpdriver implements it on RabbitMQ, memdriver in process.
//
// Both implementations pass the same contract tests in package rpcsvc.
package driver

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ExchangeKind is the AMQP exchange type.
type ExchangeKind int

const (
	// Topic is the control exchange: routing key = queue name.
	Topic ExchangeKind = iota
	// Fanout delivers to every bound queue.
	Fanout
	// Default is the nameless direct exchange every queue is bound to by name.
	Default
)

// QueueKind selects the declaration arguments of a queue.
type QueueKind int

const (
	// Shared is `<topic>` or `<topic>.<host>`: durable per
	// amqp_durable_queues / rabbit_quorum_queue, auto-delete per amqp_auto_delete.
	Shared QueueKind = iota
	// Transient is a fanout queue `<topic>_fanout_<uuid>`: non-durable with
	// x-expires = rabbit_transient_queues_ttl (quorum and durable with
	// rabbit_transient_quorum_queue; with rabbit_stream_fanout the topic's
	// one `<topic>_fanout` stream, which amqpdriver consumes from an offset).
	Transient
	// Reply is `reply_<uuid>`: non-durable (quorum with
	// rabbit_transient_quorum_queue), x-expires, bound only to the default
	// exchange.
	Reply
)

// Queue is a queue to declare and consume, with its one binding.
type Queue struct {
	Name string
	Kind QueueKind
	// Exchange and ExchangeKind are the exchange the queue is bound to, with
	// the routing key equal to Name (Fanout ignores the key). Unused for Reply.
	Exchange     string
	ExchangeKind ExchangeKind
	// DeleteOnClose deletes the queue when its consumer closes, as oslo
	// deletes a server's randomly named fanout queue when it stops (not the
	// stable names of use_queue_manager nor the shared stream): nobody
	// will read it again, and fanout casts would pile up in it until
	// x-expires.
	DeleteOnClose bool
}

// Publishing is one message to send.
type Publishing struct {
	Exchange     string // "" is the default exchange
	ExchangeKind ExchangeKind
	RoutingKey   string
	Body         []byte
	// Expiration, when positive, is sent as the AMQP expiration (ms).
	Expiration time.Duration
	// Mandatory asks the broker to return the message if no queue takes it:
	// Publish then fails with an error matching ErrUnroutable (an
	// *UnroutableError) instead of reporting the message sent.
	Mandatory bool
}

// Delivery is one received message. Exactly one of Ack or Nack must be called.
type Delivery struct {
	Queue       string
	Body        []byte
	Redelivered bool
	// Tag and Settler settle it: a Delivery is a value, and settling goes
	// through the driver's own per-channel settler, without a closure per
	// message.
	Tag     uint64
	Settler Settler
}

// Settler settles the deliveries of a consumer by tag.
type Settler interface {
	Ack(tag uint64) error
	Nack(tag uint64, requeue bool) error
}

// Ack settles d as handled.
func (d Delivery) Ack() error { return d.Settler.Ack(d.Tag) }

// Nack settles d as not handled; requeue puts it back on its queue.
func (d Delivery) Nack(requeue bool) error { return d.Settler.Nack(d.Tag, requeue) }

// ConsumeSpec describes a consumer.
type ConsumeSpec struct {
	Queues []Queue
	// Prefetch bounds unacknowledged deliveries handed to Handle at once.
	Prefetch int
	// Handle receives every delivery, possibly from several goroutines at
	// once (amqpdriver: one per queue; memdriver: the goroutine that
	// published, acked or nacked). It must not block for long: with at most
	// Prefetch deliveries outstanding, a buffered channel of that size never
	// blocks.
	Handle func(Delivery)
	// Interrupted, if set, is called when the consumer loses its connection
	// (deliveries not yet acked are lost to this consumer); consuming resumes
	// by itself once the driver reconnects.
	Interrupted func(error)
	// Resumed, if set, is called each time consuming (re)starts after an
	// interruption.
	Resumed func()
}

// Consumer is a running consumer.
type Consumer interface {
	// Cancel stops new deliveries. Deliveries already handed out may still be
	// acked or nacked. It is idempotent.
	Cancel(ctx context.Context) error
	// Close releases the consumer; unacked deliveries return to their queue.
	Close() error
}

// Driver is a broker connection.
type Driver interface {
	// Publish sends p and returns once the broker confirmed it, or an error.
	Publish(ctx context.Context, p Publishing) error
	// PublishAsync sends p and returns without waiting for the broker's
	// confirm: the returned Confirm's Wait gives what Publish would have
	// returned. Messages one goroutine publishes this way leave in the order
	// of its calls. Wait must be called once (it releases what the publish
	// holds).
	PublishAsync(ctx context.Context, p Publishing) Confirm
	// Consume declares spec.Queues (and their exchanges and bindings) and
	// starts consuming. It returns once the queues are declared and consumed.
	Consume(ctx context.Context, spec ConsumeSpec) (Consumer, error)
	// DeadLetter stores body in the gonova dead-letter queue of queue
	// (`<queue>.dlq`) with the reason, and returns once confirmed.
	DeadLetter(ctx context.Context, queue string, body []byte, reason string) error
	// Close closes the connection; consumers stop.
	Close() error
}

// Confirm is the outcome of a PublishAsync.
type Confirm interface {
	// Wait blocks until the broker confirmed (or returned, nacked or lost)
	// the message, or ctx ends, and returns what Publish would have.
	Wait(ctx context.Context) error
}

// Failed is a Confirm that already failed with err (nil: already
// confirmed).
type Failed struct{ Err error }

// Wait implements Confirm.
func (f Failed) Wait(context.Context) error { return f.Err }

// ErrClosed is returned by operations on a closed driver.
var ErrClosed = errors.New("rpcsvc: transport closed")

// ErrNotConnected is returned by Publish while the connection is down; the
// caller may retry.
var ErrNotConnected = errors.New("rpcsvc: not connected to the broker")

// ErrUnroutable is matched (errors.Is) by the *UnroutableError of a
// Mandatory publish that no queue took.
var ErrUnroutable = errors.New("rpcsvc: no queue is bound for the message")

// UnroutableError is a Mandatory publish the broker returned: no queue is
// bound to Exchange with RoutingKey (yet: non-durable queues are declared
// again by their consumers after a broker restart).
type UnroutableError struct {
	Exchange   string
	RoutingKey string
	// Reason is the broker's reply text (RabbitMQ: NO_ROUTE).
	Reason string
}

func (e *UnroutableError) Error() string {
	ex := e.Exchange
	if ex == "" {
		ex = "(default)"
	}
	msg := fmt.Sprintf("the broker returned the message to exchange %s with routing key %q: no queue is bound for it", ex, e.RoutingKey)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrUnroutable) true.
func (e *UnroutableError) Is(target error) bool { return target == ErrUnroutable }

// ErrPermanent is wrapped by the errors a driver knows retrying cannot fix:
// the broker refused a declaration (PRECONDITION_FAILED: the entity exists
// with other arguments), access was refused or not allowed, the transport URL
// is malformed. rpcsvc stops retrying an operation whose error wraps it.
var ErrPermanent = errors.New("rpcsvc: permanent broker error")

// Permanent returns err marked as permanent: its text is err's, and
// errors.Is(…, ErrPermanent) holds while errors.Is and errors.As still reach
// err's own chain. It returns nil for nil and err itself when already marked.
func Permanent(err error) error {
	if err == nil || errors.Is(err, ErrPermanent) {
		return err
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// DLQName is the gonova dead-letter queue of queue.
func DLQName(queue string) string { return queue + ".dlq" }

// Metrics is how a driver reports reconnections.
type Metrics interface {
	Reconnected()
}
