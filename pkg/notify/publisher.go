package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Metadata keys of the watermill messages this package publishes and
// delivers.
const (
	MetaEventType   = "event_type"
	MetaPublisherID = "publisher_id"
	MetaPriority    = "priority"   // upper-case, as sent: INFO
	MetaMessageID   = "message_id" // also the watermill message's UUID
	MetaTimestamp   = "timestamp"  // oslo's format, UTC
	MetaContext     = "context"    // the request context as a JSON object (keys without _context_)
	MetaUniqueID    = "_unique_id"
)

// amqpSender publishes notification bodies with publisher confirms, retrying
// across reconnects as [oslo_messaging_notifications] retry says.
type amqpSender struct {
	conn        *conn
	topo        topology
	retry       int // -1: until ctx ends
	attemptWait time.Duration

	mu       sync.Mutex
	gen      uint64
	chans    []*amqp.Channel // confirm-mode channels of generation gen
	declared map[string]bool // routing keys declared in generation gen
	next     atomic.Uint64
}

func newSender(c *conn, topo topology, retry, channels int, attemptWait time.Duration) *amqpSender {
	if channels < 1 {
		channels = 4
	}
	if attemptWait <= 0 {
		attemptWait = 5 * time.Second
	}
	return &amqpSender{conn: c, topo: topo, retry: retry, attemptWait: attemptWait, chans: make([]*amqp.Channel, channels)}
}

// send publishes body to the control exchange with routingKey, and returns
// once the broker confirmed it. A lost connection or an unconfirmed publish is
// retried (the same body) on the next connection, at most retry more times
// (retry -1: until ctx ends). The queue `routingKey` is declared and bound
// first, once per connection, as oslo's notifier does, so notifications wait
// for a listener that starts later.
func (s *amqpSender) send(ctx context.Context, routingKey string, body []byte) error {
	var last error
	for attempt := 0; s.retry < 0 || attempt <= s.retry; attempt++ {
		if attempt > 0 {
			// Let the supervisor notice a dead connection before retrying.
			t := time.NewTimer(min(time.Duration(attempt)*50*time.Millisecond, time.Second))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return errors.Join(ctx.Err(), last)
			}
		}
		err := s.sendOnce(ctx, routingKey, body)
		if err == nil {
			return nil
		}
		last = err
		if !errors.Is(err, errNotConnected) {
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), last)
		}
	}
	return fmt.Errorf("notify: giving up after %d attempts (retry = %d): %w", s.retry+1, s.retry, last)
}

func (s *amqpSender) sendOnce(ctx context.Context, routingKey string, body []byte) error {
	actx, cancel := context.WithTimeout(ctx, s.attemptWait)
	defer cancel()
	ac, gen, err := s.conn.get(actx)
	if err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: no connection within %s", errNotConnected, s.attemptWait)
	}
	ch, err := s.channel(ac, gen, routingKey)
	if err != nil {
		return err
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, s.topo.exchange, routingKey, false, false, amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Timestamp:       time.Now(),
		Body:            body,
	})
	if err != nil {
		return fmt.Errorf("%w: publish: %v", errNotConnected, err)
	}
	// The confirm is awaited without a per-attempt bound: a slow broker is
	// not a lost message. A lost connection ends the wait (not acked).
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return fmt.Errorf("%w: the broker did not confirm the notification to %q/%q (nack or connection lost)", errNotConnected, s.topo.exchange, routingKey)
	}
	return nil
}

// channel returns a confirm-mode channel of generation gen, after declaring
// routingKey's queue on this connection if not done yet.
func (s *amqpSender) channel(ac *amqp.Connection, gen uint64, routingKey string) (*amqp.Channel, error) {
	s.mu.Lock()
	if s.gen != gen {
		s.gen = gen
		for i := range s.chans {
			s.chans[i] = nil
		}
		s.declared = map[string]bool{}
	}
	declared := s.declared[routingKey]
	s.mu.Unlock()
	if !declared {
		if err := s.topo.declare(ac, routingKey, routingKey); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.gen == gen {
			s.declared[routingKey] = true
		}
		s.mu.Unlock()
	}
	i := int(s.next.Add(1) % uint64(len(s.chans)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return nil, fmt.Errorf("%w: reconnected meanwhile", errNotConnected)
	}
	if ch := s.chans[i]; ch != nil && !ch.IsClosed() {
		return ch, nil
	}
	ch, err := ac.Channel()
	if err != nil {
		return nil, fmt.Errorf("%w: opening a channel: %v", errNotConnected, err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("%w: confirm mode: %v", errNotConnected, err)
	}
	s.chans[i] = ch
	return ch, nil
}

// Publisher is a watermill message.Publisher of oslo notifications: each
// message is published as one notification to the control exchange with
// the routing key topic (`<topic>.<priority>`, for example
// `notifications.info`), and Publish returns once the broker confirmed every
// message.
//
// A message's Payload is the notification's payload (JSON). Its metadata
// gives event_type (required), publisher_id (default: the Notifier's),
// message_id (default: the message's UUID) and priority (default: the
// topic's last part); the request context is taken from the message's
// context (rpcsvc.NewContext) or from the "context" metadata (a JSON object).
type Publisher struct {
	n    *Notifier
	owns bool
}

var _ message.Publisher = (*Publisher)(nil)

// Publish implements message.Publisher: the messages are sent in order, each
// confirmed before the next; it stops at the first that fails. The first
// message's context bounds the wait for the broker.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx := msgs[0].Context()
	base, prio, err := splitTopic(topic)
	if err != nil {
		return err
	}
	// One after the other: a batch keeps its order on the queue.
	for _, m := range msgs {
		if err := p.publishOne(ctx, base, prio, m); err != nil {
			return fmt.Errorf("notify: message %s: %w", m.UUID, err)
		}
	}
	return nil
}

func (p *Publisher) publishOne(ctx context.Context, base string, prio Priority, m *message.Message) error {
	if v := m.Metadata.Get(MetaPriority); v != "" {
		q, err := ParsePriority(v)
		if err != nil {
			return err
		}
		prio = q
	}
	et := m.Metadata.Get(MetaEventType)
	if et == "" {
		return fmt.Errorf("notify: message %s has no %q metadata", m.UUID, MetaEventType)
	}
	payload := json.RawMessage(m.Payload)
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	var rctx map[string]json.RawMessage
	if raw := m.Metadata.Get(MetaContext); raw != "" {
		if err := json.Unmarshal([]byte(raw), &rctx); err != nil {
			return fmt.Errorf("notify: message %s: %q metadata is not a JSON object: %v", m.UUID, MetaContext, err)
		}
	} else {
		rctx = requestContext(m.Context())
	}
	pub := m.Metadata.Get(MetaPublisherID)
	if pub == "" {
		pub = p.n.publisherID
	}
	n := newNotification(pub, et, prio, payload, rctx)
	if id := m.Metadata.Get(MetaMessageID); id != "" {
		n.MessageID = id
	} else if m.UUID != "" {
		n.MessageID = m.UUID
	}
	return p.n.sendTopic(ctx, base, n)
}

// Close implements message.Publisher. A Publisher from Notifier.Publisher
// shares the Notifier's connection and leaves it open (watermill's Router
// closes its handlers' publishers on its own schedule); close the Notifier.
func (p *Publisher) Close() error {
	if p.owns {
		return p.n.Close()
	}
	return nil
}

// splitTopic splits `notifications.info` into its topic and priority.
func splitTopic(topic string) (string, Priority, error) {
	i := strings.LastIndexByte(topic, '.')
	if i <= 0 {
		return "", "", fmt.Errorf("notify: topic %q is not <topic>.<priority>", topic)
	}
	p := Priority(topic[i+1:])
	if !p.Valid() {
		return "", "", fmt.Errorf("notify: topic %q does not end in a priority (%v)", topic, Priorities)
	}
	return topic[:i], p, nil
}

// requestContext flattens the rpcsvc request context of ctx, or nil.
func requestContext(ctx context.Context) map[string]json.RawMessage {
	rc, ok := rpcsvc.ContextFrom(ctx)
	if !ok {
		return nil
	}
	return rc.Wire(ctx)
}
