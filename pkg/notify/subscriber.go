package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/internal/amqpurl"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// SubscriberConfig configures a Subscriber. Field comments name the oslo
// option each one carries.
type SubscriberConfig struct {
	// TransportURL is [oslo_messaging_notifications] transport_url, or
	// [DEFAULT] transport_url.
	TransportURL string
	// ControlExchange is [DEFAULT] control_exchange, default "nova".
	ControlExchange string
	// Pool is oslo's listener pool. Empty: each topic `<t>.<priority>` is
	// consumed from the queue of that name, shared with every other
	// pool-less listener (Python or Go), which compete for its messages.
	// Set: the queue is named after the pool itself, as oslo names it, and
	// bound to every topic subscribed in that pool; each pool gets its own
	// copy of every notification, and the listeners of one pool share it.
	Pool string
	// DurableQueues, AutoDelete and QuorumQueue are amqp_durable_queues,
	// amqp_auto_delete and rabbit_quorum_queue ([oslo_messaging_rabbit]).
	DurableQueues bool
	AutoDelete    bool
	QuorumQueue   bool
	QueueOptions
	// HeartbeatTimeoutThreshold is as Options.HeartbeatTimeoutThreshold:
	// default 60s, negative disables heartbeats.
	HeartbeatTimeoutThreshold time.Duration
	// TLS is as Options.TLS.
	TLS    *tls.Config
	tlsErr error
	// Prefetch (gonova) is how many unacknowledged messages each
	// subscription holds: handlers run at most that many at once. Default 64.
	Prefetch int
	// CloseTimeout (gonova) bounds how long Close (or the end of a
	// subscription's context) waits for handed-out messages to be acked or
	// nacked; what is still unsettled then goes back to the queue. Default 30s.
	CloseTimeout time.Duration
	// Logger receives the logs; nil uses slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// SubscriberConfigFromConfig returns the SubscriberConfig nova.conf gives.
func SubscriberConfigFromConfig(c *config.Config, pool string) SubscriberConfig {
	tlsCfg, tlsErr := c.RabbitTLS()
	return SubscriberConfig{
		TLS:                       tlsCfg,
		tlsErr:                    tlsErr,
		TransportURL:              c.NotificationTransportURL(),
		ControlExchange:           c.Default.ControlExchange,
		Pool:                      pool,
		DurableQueues:             c.Rabbit.AmqpDurableQueues,
		AutoDelete:                c.Rabbit.AmqpAutoDelete,
		QuorumQueue:               c.Rabbit.RabbitQuorumQueue,
		QueueOptions:              queueOptionsOf(c),
		HeartbeatTimeoutThreshold: heartbeatOf(c),
	}
}

// heartbeatOf is heartbeat_timeout_threshold in the Options' terms: the
// option's 0 disables heartbeats, where the field's 0 means the default.
func heartbeatOf(c *config.Config) time.Duration {
	if c.Rabbit.HeartbeatTimeoutThreshold == 0 {
		return -1
	}
	return c.Rabbit.HeartbeatTimeoutThreshold
}

// Subscriber is a watermill message.Subscriber of oslo notifications. Topics
// are `<topic>.<priority>` (`notifications.info`). Each delivered message's
// Payload is the notification's payload, its UUID the message_id, and its
// metadata event_type, publisher_id, priority, message_id, timestamp and
// context (see the Meta constants); Decode rebuilds the Notification.
//
// Ack acknowledges the message to the broker; Nack puts it back on the queue
// (redelivered, to this or another consumer). Messages are handed out without
// waiting for the previous one's ack, up to Prefetch at once.
type Subscriber struct {
	cfg     SubscriberConfig
	topo    topology
	conn    *conn
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}

	closeOnce sync.Once
	wg        sync.WaitGroup
}

var (
	_ message.Subscriber           = (*Subscriber)(nil)
	_ message.SubscribeInitializer = (*Subscriber)(nil)
)

// NewSubscriber connects (trying each host in turn) and returns a
// Subscriber; it fails when no host answers before ctx ends.
func NewSubscriber(ctx context.Context, cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.tlsErr != nil {
		return nil, fmt.Errorf("notify: %w", cfg.tlsErr)
	}
	if cfg.ControlExchange == "" {
		cfg.ControlExchange = "nova"
	}
	if cfg.HeartbeatTimeoutThreshold == 0 {
		cfg.HeartbeatTimeoutThreshold = 60 * time.Second
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 64
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TransportURL == "" {
		return nil, errors.New("notify: transport_url is not set ([oslo_messaging_notifications] or [DEFAULT])")
	}
	u, err := amqpurl.Parse(cfg.TransportURL)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("notify: registering metrics: %w", err)
	}
	s := &Subscriber{
		cfg:     cfg,
		topo:    topology{exchange: cfg.ControlExchange, durableQueues: cfg.DurableQueues, autoDelete: cfg.AutoDelete, quorumQueue: cfg.QuorumQueue, QueueOptions: cfg.QueueOptions},
		log:     cfg.Logger,
		metrics: m,
		subs:    map[*subscription]struct{}{},
	}
	s.conn, err = dialConn(ctx, connConfig{url: u, heartbeat: max(cfg.HeartbeatTimeoutThreshold, 0), tls: cfg.TLS, log: cfg.Logger, reconnected: m.reconnected})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Subscriber) queueName(topic string) string {
	if s.cfg.Pool != "" {
		return s.cfg.Pool
	}
	return topic
}

// SubscribeInitialize declares the exchange and topic's queue, as Subscribe
// does, without consuming (message.SubscribeInitializer).
func (s *Subscriber) SubscribeInitialize(topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.declare(ctx, topic)
}

func (s *Subscriber) declare(ctx context.Context, topic string) error {
	if _, _, err := splitTopic(topic); err != nil {
		return err
	}
	ac, _, err := s.conn.get(ctx)
	if err != nil {
		return err
	}
	return s.topo.declare(ac, s.queueName(topic), topic)
}

// Subscribe declares topic's queue (so that notifications published after it
// returns wait there) and consumes it until ctx ends or the Subscriber is
// closed, re-declaring and resuming after every reconnect. The returned
// channel is closed once the subscription stopped and every message handed
// out was settled (or CloseTimeout passed).
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := s.declare(ctx, topic); err != nil {
		return nil, fmt.Errorf("notify: subscribing to %s: %w", topic, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	sb := &subscription{s: s, topic: topic, queue: s.queueName(topic), out: make(chan *message.Message),
		ctx: runCtx, cancel: cancel, msgCtx: context.WithoutCancel(ctx), force: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	s.subs[sb] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go sb.run()
	return sb.out, nil
}

// Close stops every subscription: consumers are cancelled first, messages
// not yet handed out go back to the queue, and Close waits (at most
// CloseTimeout) for the handed-out ones to be acked or nacked before it
// closes the connection. No message is lost: one still unsettled then is
// redelivered by the broker.
func (s *Subscriber) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for sb := range s.subs {
			sb.cancel()
		}
		s.mu.Unlock()
		s.wg.Wait()
		err = s.conn.close()
	})
	return err
}

type subscription struct {
	s      *Subscriber
	topic  string
	queue  string
	out    chan *message.Message
	ctx    context.Context // ends the subscription
	cancel context.CancelFunc
	msgCtx context.Context // parent of the messages' contexts: not cancelled by the end
	force  chan struct{}   // closed when CloseTimeout passed: stop waiting for acks

	inflight sync.WaitGroup
}

func (sb *subscription) run() {
	defer sb.s.wg.Done()
	defer func() {
		sb.s.mu.Lock()
		delete(sb.s.subs, sb)
		sb.s.mu.Unlock()
		sb.cancel()
	}()
	defer close(sb.out)
	// Options, not fields: NewExponentialBackOff resets with its own
	// initial interval, so fields set afterwards miss the first wait.
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	for {
		ch, deliveries, err := sb.open()
		if err != nil {
			if sb.ctx.Err() != nil || errors.Is(err, ErrClosed) {
				sb.drain(nil, "", nil)
				return
			}
			wait := b.NextBackOff()
			level := slog.LevelWarn
			var pe *PreconditionError
			if errors.As(err, &pe) {
				level = slog.LevelError
			}
			sb.s.log.Log(context.Background(), level, "notify: cannot consume, retrying", "queue", sb.queue, "topic", sb.topic, "error", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-sb.ctx.Done():
				t.Stop()
				sb.drain(nil, "", nil)
				return
			}
		}
		b.Reset()
		if stopped := sb.consume(ch, deliveries); stopped {
			return
		}
		// Connection or channel lost: handed-out messages of that channel
		// are redelivered by the broker; their acks go nowhere.
	}
}

const consumerTagPrefix = "gonova-notify-"

func (sb *subscription) open() (*amqp.Channel, <-chan amqp.Delivery, error) {
	ac, _, err := sb.s.conn.get(sb.ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := sb.s.topo.declare(ac, sb.queue, sb.topic); err != nil {
		return nil, nil, err
	}
	ch, err := ac.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: opening a channel: %v", errNotConnected, err)
	}
	if err := ch.Qos(sb.s.cfg.Prefetch, 0, false); err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("%w: qos: %v", errNotConnected, err)
	}
	deliveries, err := ch.Consume(sb.queue, consumerTagPrefix+sb.topic, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("consuming %q: %w", sb.queue, explain(err))
	}
	return ch, deliveries, nil
}

// consume hands out deliveries until they end (false: reconnect) or the
// subscription ends (true, after draining).
func (sb *subscription) consume(ch *amqp.Channel, deliveries <-chan amqp.Delivery) bool {
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				if sb.ctx.Err() != nil {
					sb.drain(ch, "", nil)
					return true
				}
				// The channel or connection closed (or the broker cancelled
				// the consumer): start again on a fresh channel.
				_ = ch.Close()
				return false
			}
			if !sb.deliver(d) {
				sb.drain(ch, consumerTagPrefix+sb.topic, deliveries)
				return true
			}
		case <-sb.ctx.Done():
			sb.drain(ch, consumerTagPrefix+sb.topic, deliveries)
			return true
		}
	}
}

// deliver hands d out as a watermill message and settles it when the
// handler acks or nacks; false when the subscription ended first (d is then
// back on the queue).
func (sb *subscription) deliver(d amqp.Delivery) bool {
	n, err := Decode(d.Body)
	if err != nil {
		sb.s.log.Warn("notify: dropping a message that is not a notification", "queue", sb.queue, "routing_key", d.RoutingKey, "error", err)
		_ = d.Ack(false)
		sb.s.metrics.receivedOne(outcomeRejected)
		return true
	}
	msg := n.toMessage(sb.msgCtx)
	select {
	case sb.out <- msg:
	case <-sb.ctx.Done():
		_ = d.Nack(false, true)
		return false
	}
	sb.inflight.Add(1)
	go func() {
		defer sb.inflight.Done()
		select {
		case <-msg.Acked():
			_ = d.Ack(false) // fails only on a lost channel: redelivered
			sb.s.metrics.receivedOne(outcomeHandled)
		case <-msg.Nacked():
			_ = d.Nack(false, true)
			sb.s.metrics.receivedOne(outcomeRequeued)
		case <-sb.force:
		}
	}()
	return true
}

// drain ends the subscription in order: cancel the consumer, put back what
// the client library still buffers, wait for handed-out messages to be
// settled (at most CloseTimeout), and only then close the channel (whatever
// is unsettled then is requeued by the broker).
func (sb *subscription) drain(ch *amqp.Channel, tag string, deliveries <-chan amqp.Delivery) {
	if ch != nil && tag != "" {
		if err := ch.Cancel(tag, false); err == nil {
			for d := range deliveries {
				_ = d.Nack(false, true)
			}
		}
	}
	done := make(chan struct{})
	go func() {
		sb.inflight.Wait()
		close(done)
	}()
	t := time.NewTimer(sb.s.cfg.CloseTimeout)
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		sb.s.log.Warn("notify: messages still unsettled at close; the broker redelivers them", "queue", sb.queue, "close_timeout", sb.s.cfg.CloseTimeout)
		close(sb.force)
		<-done
	}
	if ch != nil {
		_ = ch.Close()
	}
}

// toMessage is n as a watermill message.
func (n *Notification) toMessage(ctx context.Context) *message.Message {
	id := n.MessageID
	if id == "" {
		id = uuid.NewString()
	}
	msg := message.NewMessage(id, message.Payload(n.Payload))
	msg.Metadata.Set(MetaEventType, n.EventType)
	msg.Metadata.Set(MetaPublisherID, n.PublisherID)
	msg.Metadata.Set(MetaPriority, n.Priority.Wire())
	msg.Metadata.Set(MetaMessageID, n.MessageID)
	if !n.Timestamp.IsZero() {
		msg.Metadata.Set(MetaTimestamp, FormatTimestamp(n.Timestamp))
	}
	if n.UniqueID != "" {
		msg.Metadata.Set(MetaUniqueID, n.UniqueID)
	}
	if len(n.Context) > 0 {
		if b, err := marshal(n.Context); err == nil {
			msg.Metadata.Set(MetaContext, string(b))
		}
		ctx = rpcsvc.NewContext(ctx, rpcsvc.ContextFromWire(n.Context))
	}
	msg.SetContext(ctx)
	return msg
}

// FromMessage rebuilds the Notification a Subscriber's message carries.
func FromMessage(msg *message.Message) (*Notification, error) {
	p, err := ParsePriority(msg.Metadata.Get(MetaPriority))
	if err != nil {
		return nil, err
	}
	n := &Notification{
		MessageID:   msg.Metadata.Get(MetaMessageID),
		PublisherID: msg.Metadata.Get(MetaPublisherID),
		EventType:   msg.Metadata.Get(MetaEventType),
		Priority:    p,
		Payload:     json.RawMessage(msg.Payload),
		UniqueID:    msg.Metadata.Get(MetaUniqueID),
	}
	if n.MessageID == "" {
		n.MessageID = msg.UUID
	}
	if ts := msg.Metadata.Get(MetaTimestamp); ts != "" {
		if n.Timestamp, err = ParseTimestamp(ts); err != nil {
			return nil, err
		}
	}
	if raw := msg.Metadata.Get(MetaContext); raw != "" {
		if err := json.Unmarshal([]byte(raw), &n.Context); err != nil {
			return nil, fmt.Errorf("notify: %q metadata is not a JSON object: %v", MetaContext, err)
		}
	}
	return n, nil
}
