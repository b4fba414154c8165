package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/internal/amqpurl"
)

// Driver names, as [oslo_messaging_notifications] driver takes them.
const (
	DriverMessagingV2 = "messagingv2"
	DriverMessaging   = "messaging"
	DriverLog         = "log"
	DriverNoop        = "noop"
)

// RetryForever is Options.Retry's oslo default: resend until the Notify
// context ends.
const RetryForever = -1

// Options configure a Notifier. Field comments name the oslo option each
// one carries; OptionsFromConfig fills them from nova.conf.
type Options struct {
	// Drivers is [oslo_messaging_notifications] driver: messagingv2,
	// messaging, log, noop. None sends nothing (oslo's default).
	Drivers []string
	// TransportURL is [oslo_messaging_notifications] transport_url, or
	// [DEFAULT] transport_url when that is unset: rabbit://, amqp://,
	// amqps://. Needed only by the messaging drivers.
	TransportURL string
	// Topics is [oslo_messaging_notifications] topics; default
	// ["notifications"].
	Topics []string
	// Retry is [oslo_messaging_notifications] retry: how many times a
	// notification that failed for a recoverable reason (no connection, no
	// confirm) is sent again; -1 until the Notify context ends. Note: the
	// zero value is oslo's 0 (one attempt); OptionsFromConfig gives oslo's
	// default, RetryForever (-1).
	Retry int
	// ControlExchange is [DEFAULT] control_exchange, default "nova".
	ControlExchange string
	// DurableQueues, AutoDelete and QuorumQueue are amqp_durable_queues,
	// amqp_auto_delete and rabbit_quorum_queue ([oslo_messaging_rabbit]):
	// how the exchange and the `<topic>.<priority>` queues are declared.
	DurableQueues bool
	AutoDelete    bool
	QuorumQueue   bool
	QueueOptions
	// HeartbeatTimeoutThreshold is heartbeat_timeout_threshold
	// ([oslo_messaging_rabbit]), default 60s: proposed to the broker as the
	// AMQP heartbeat, as oslo proposes it. Negative disables heartbeats (the
	// option's 0; OptionsFromConfig maps it).
	HeartbeatTimeoutThreshold time.Duration
	// TLS is the TLS configuration of [oslo_messaging_rabbit]'s ssl options
	// (config.Config.RabbitTLS): set, it turns TLS on; nil, only amqps://
	// or ?ssl=1 do.
	TLS    *tls.Config
	tlsErr error // from OptionsFromConfig: NewNotifier refuses to start

	// PublisherID is the default publisher_id, for example "compute.host1".
	PublisherID string
	// PublishChannels (gonova) is the number of confirm-mode channels
	// publishes are spread over. Default 4.
	PublishChannels int
	// AttemptTimeout (gonova) bounds how long one attempt waits for a
	// connection before it counts as failed. Default 5s.
	AttemptTimeout time.Duration
	// CloseTimeout (gonova) bounds how long Close waits for the Notify
	// calls in progress to be confirmed. Default 30s.
	CloseTimeout time.Duration

	// Logger receives the Notifier's logs and the log driver's
	// notifications; nil uses slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// OptionsFromConfig returns the Options nova.conf gives, with publisherID
// as the default publisher_id.
func OptionsFromConfig(c *config.Config, publisherID string) Options {
	tlsCfg, tlsErr := c.RabbitTLS()
	return Options{
		TLS:                       tlsCfg,
		tlsErr:                    tlsErr,
		Drivers:                   append([]string(nil), c.Notifications.Driver...),
		TransportURL:              c.NotificationTransportURL(),
		Topics:                    append([]string(nil), c.Notifications.Topics...),
		Retry:                     c.Notifications.Retry,
		ControlExchange:           c.Default.ControlExchange,
		DurableQueues:             c.Rabbit.AmqpDurableQueues,
		AutoDelete:                c.Rabbit.AmqpAutoDelete,
		QuorumQueue:               c.Rabbit.RabbitQuorumQueue,
		QueueOptions:              queueOptionsOf(c),
		HeartbeatTimeoutThreshold: heartbeatOf(c),
		PublisherID:               publisherID,
	}
}

// Notifier sends notifications through its drivers, as oslo's Notifier.
// It is safe for concurrent use.
//
//	n, err := notify.NewNotifier(ctx, notify.OptionsFromConfig(cfg, "compute."+cfg.Default.Host))
//	defer n.Close()
//	err = n.Info(ctx, "compute.instance.create.end", payload)
type Notifier struct {
	opts        Options
	publisherID string
	log         *slog.Logger
	metrics     *metrics
	drivers     []string
	conn        *conn // nil without a messaging driver
	sender      *amqpSender
	root        bool // owns conn
	life        *lifecycle
}

// lifecycle tracks the sends in progress of a Notifier and the Notifiers
// prepared from it, so that Close can let them finish first.
type lifecycle struct {
	mu      sync.Mutex
	closed  bool
	sending sync.WaitGroup
}

// begin registers a send; false once Close began.
func (l *lifecycle) begin() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.sending.Add(1)
	return true
}

// NewNotifier returns a Notifier. With a messaging driver it connects first
// (trying each host in turn), failing when none answers before ctx ends.
func NewNotifier(ctx context.Context, opts Options) (*Notifier, error) {
	if opts.tlsErr != nil {
		return nil, fmt.Errorf("notify: %w", opts.tlsErr)
	}
	if len(opts.Topics) == 0 {
		opts.Topics = []string{"notifications"}
	}
	if opts.ControlExchange == "" {
		opts.ControlExchange = "nova"
	}
	if opts.HeartbeatTimeoutThreshold == 0 {
		opts.HeartbeatTimeoutThreshold = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Retry < -1 {
		return nil, fmt.Errorf("notify: retry must be -1 or more, got %d", opts.Retry)
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = 30 * time.Second
	}
	n := &Notifier{opts: opts, publisherID: opts.PublisherID, log: opts.Logger, root: true, life: &lifecycle{}}
	messaging := false
	for _, d := range opts.Drivers {
		switch d {
		case DriverMessagingV2, DriverMessaging:
			messaging = true
		case DriverLog, DriverNoop:
		default:
			return nil, fmt.Errorf("notify: unknown driver %q (gonova has %s, %s, %s, %s)", d, DriverMessagingV2, DriverMessaging, DriverLog, DriverNoop)
		}
		n.drivers = append(n.drivers, d)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("notify: registering metrics: %w", err)
	}
	n.metrics = m
	if messaging {
		if err := n.connect(ctx); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// NewPublisher returns a watermill Publisher that sends with the messagingv2
// driver on its own connection; closing it closes the connection.
func NewPublisher(ctx context.Context, opts Options) (*Publisher, error) {
	opts.Drivers = []string{DriverMessagingV2}
	n, err := NewNotifier(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Publisher{n: n, owns: true}, nil
}

func (n *Notifier) connect(ctx context.Context) error {
	if n.opts.TransportURL == "" {
		return errors.New("notify: a messaging driver needs transport_url ([oslo_messaging_notifications] or [DEFAULT])")
	}
	u, err := amqpurl.Parse(n.opts.TransportURL)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	c, err := dialConn(ctx, connConfig{
		url:         u,
		heartbeat:   max(n.opts.HeartbeatTimeoutThreshold, 0),
		tls:         n.opts.TLS,
		log:         n.log,
		reconnected: n.metrics.reconnected,
	})
	if err != nil {
		return err
	}
	n.conn = c
	topo := topology{exchange: n.opts.ControlExchange, durableQueues: n.opts.DurableQueues, autoDelete: n.opts.AutoDelete, quorumQueue: n.opts.QuorumQueue, QueueOptions: n.opts.QueueOptions}
	n.sender = newSender(c, topo, n.opts.Retry, n.opts.PublishChannels, n.opts.AttemptTimeout)
	return nil
}

// Prepare returns a Notifier that sends with publisherID, sharing n's
// connection (oslo's Notifier.prepare). Closing it does nothing.
func (n *Notifier) Prepare(publisherID string) *Notifier {
	c := *n
	c.publisherID = publisherID
	c.root = false
	return &c
}

// WithTopics returns a Notifier that sends to topics instead of n's,
// sharing n's connection, drivers and publisher_id: nova's versioned
// notifier is oslo's Notifier(topics=versioned_notifications_topics) on the
// same transport as its legacy one. Closing it does nothing. With no topics
// it returns n.
func (n *Notifier) WithTopics(topics ...string) *Notifier {
	if len(topics) == 0 {
		return n
	}
	c := *n
	c.opts.Topics = append([]string(nil), topics...)
	c.root = false
	return &c
}

// Publisher returns n as a watermill Publisher (messagingv2 format, n's
// connection). Its Close does nothing; close n.
func (n *Notifier) Publisher() *Publisher { return &Publisher{n: n} }

// Audit, Debug, Info, Warn, Error, Critical and Sample send a notification
// of that priority: see Notify.
func (n *Notifier) Audit(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Audit, eventType, payload)
}

// Debug sends a debug notification.
func (n *Notifier) Debug(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Debug, eventType, payload)
}

// Info sends an info notification.
func (n *Notifier) Info(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Info, eventType, payload)
}

// Warn sends a warn notification (oslo's warn and warning).
func (n *Notifier) Warn(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Warn, eventType, payload)
}

// Error sends an error notification.
func (n *Notifier) Error(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Error, eventType, payload)
}

// Critical sends a critical notification.
func (n *Notifier) Critical(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Critical, eventType, payload)
}

// Sample sends a sample notification.
func (n *Notifier) Sample(ctx context.Context, eventType string, payload any) error {
	return n.Notify(ctx, Sample, eventType, payload)
}

// Notify sends one notification through every driver: payload is any
// JSON-marshalable value (a json.RawMessage is sent as it is), the request
// context comes from ctx (rpcsvc.NewContext), redacted of tokens. With the
// messaging drivers it returns once the broker confirmed the notification on
// every topic, retrying as Options.Retry says within ctx.
//
// oslo logs and swallows a failed notification; Notify logs it too and also
// returns the error, which callers may ignore.
func (n *Notifier) Notify(ctx context.Context, p Priority, eventType string, payload any) error {
	if !p.Valid() {
		return fmt.Errorf("notify: unknown priority %q", p)
	}
	if len(n.drivers) == 0 {
		return nil
	}
	var raw json.RawMessage
	switch v := payload.(type) {
	case json.RawMessage:
		raw = v
	default:
		b, err := marshal(v)
		if err != nil {
			n.metrics.sent(eventType, err)
			return fmt.Errorf("notify: payload of %s: %w", eventType, err)
		}
		raw = b
	}
	msg := newNotification(n.publisherID, eventType, p, raw, requestContext(ctx))
	var errs []error
	for _, d := range n.drivers {
		var err error
		switch d {
		case DriverMessagingV2, DriverMessaging:
			for _, topic := range n.opts.Topics {
				if e := n.send(ctx, topic, msg, d == DriverMessagingV2); e != nil {
					err = errors.Join(err, e)
				}
			}
		case DriverLog:
			n.logNotification(ctx, msg)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sendTopic sends msg in the 2.0 format to topic (the watermill Publisher).
func (n *Notifier) sendTopic(ctx context.Context, topic string, msg *Notification) error {
	if n.sender == nil {
		return ErrClosed
	}
	return n.send(ctx, topic, msg, true)
}

func (n *Notifier) send(ctx context.Context, topic string, msg *Notification, envelope bool) error {
	if !n.life.begin() {
		n.metrics.sent(msg.EventType, ErrClosed)
		return fmt.Errorf("notify: %s to %s.%s: %w", msg.EventType, topic, msg.Priority, ErrClosed)
	}
	defer n.life.sending.Done()
	body, err := msg.Encode(envelope)
	if err == nil {
		err = n.sender.send(ctx, topic+"."+string(msg.Priority), body)
	}
	n.metrics.sent(msg.EventType, err)
	if err != nil {
		n.log.Error("notify: could not send a notification", "topic", topic, "priority", string(msg.Priority),
			"event_type", msg.EventType, "message_id", msg.MessageID, "error", err)
		return fmt.Errorf("notify: %s to %s.%s: %w", msg.EventType, topic, msg.Priority, err)
	}
	return nil
}

// logNotification is the log driver: the message as JSON with secrets
// masked (oslo's mask_dict_password), at the level of its priority, with
// oslo's logger name.
func (n *Notifier) logNotification(ctx context.Context, msg *Notification) {
	body, err := msg.Encode(false)
	if err != nil {
		n.log.Warn("notify: cannot log a notification", "event_type", msg.EventType, "error", err)
		return
	}
	level := slog.LevelInfo
	switch msg.Priority {
	case Debug:
		level = slog.LevelDebug
	case Warn:
		level = slog.LevelWarn
	case Error, Critical:
		level = slog.LevelError
	}
	n.log.Log(ctx, level, string(maskSecrets(body)), "logger", "oslo.messaging.notification."+msg.EventType,
		"event_type", msg.EventType, "priority", strings.ToUpper(string(msg.Priority)))
	n.metrics.sent(msg.EventType, nil)
}

// Close stops accepting notifications (Notify then fails with ErrClosed),
// waits up to CloseTimeout for those in progress to be confirmed, and closes
// the connection; a send still unconfirmed then fails with ErrClosed (and was
// possibly delivered). A Notifier from Prepare does not own the connection:
// its Close does nothing.
func (n *Notifier) Close() error {
	if !n.root || n.conn == nil {
		return nil
	}
	n.life.mu.Lock()
	n.life.closed = true
	n.life.mu.Unlock()
	done := make(chan struct{})
	go func() {
		n.life.sending.Wait()
		close(done)
	}()
	t := time.NewTimer(n.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		n.log.Warn("notify: notifications still unconfirmed at close", "close_timeout", n.opts.CloseTimeout)
	}
	err := n.conn.close()
	<-done // the close made the rest fail
	return err
}

// queueOptionsOf reads QueueOptions from [oslo_messaging_rabbit].
func queueOptionsOf(c *config.Config) QueueOptions {
	return QueueOptions{
		QuorumDeliveryLimit:   c.Rabbit.RabbitQuorumDeliveryLimit,
		QuorumMaxMemoryLength: c.Rabbit.RabbitQuorumMaxMemoryLength,
		QuorumMaxMemoryBytes:  c.Rabbit.RabbitQuorumMaxMemoryBytes,
		HAQueues:              c.Rabbit.RabbitHAQueues,
	}
}
