// Package amqpdriver is rpcsvc's RabbitMQ driver on amqp091-go: a supervised
// connection that reconnects with backoff across failover hosts, a pool of
// confirm-mode channels for publishing, and consumers that re-declare their
// topology and resume after every reconnect. See package rpcsvc's doc for why
// this is not watermill-amqp.
package amqpdriver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/internal/amqpurl"
	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// Config is the driver's share of rpcsvc.Options.
type Config struct {
	URL              URL
	DurableQueues    bool          // amqp_durable_queues
	AutoDelete       bool          // amqp_auto_delete
	QuorumQueue      bool          // rabbit_quorum_queue
	TransientTTL     time.Duration // rabbit_transient_queues_ttl
	Heartbeat        Heartbeat     // heartbeat_timeout_threshold, heartbeat_rate
	TransientQuorum  bool          // rabbit_transient_quorum_queue
	DeliveryLimit    int           // rabbit_quorum_delivery_limit
	MaxMemoryLength  int           // rabbit_quorum_max_memory_length
	MaxMemoryBytes   int           // rabbit_quorum_max_memory_bytes
	HAQueues         bool          // rabbit_ha_queues
	StreamFanout     bool          // rabbit_stream_fanout
	TLS              *tls.Config   // ssl options; nil: TLS only if URL asks
	PublishChannels  int
	Reconnect        Reconnect // kombu_failover_strategy, kombu_reconnect_*, rabbit_retry_*, rabbit_interval_max
	CancelOnFailover bool      // enable_cancel_on_failover
	ConnectionName   string
	Logger           *slog.Logger
	Metrics          driver.Metrics
	ReturnedMessages func(exchange, routingKey string, body []byte) // mandatory returns
}

// Driver is a supervised RabbitMQ connection. It implements driver.Driver.
type Driver struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	conn      *amqp.Connection
	host      int // index in cfg.URL.Hosts of conn's broker
	gen       uint64
	connected chan struct{} // closed while connected
	declared  map[string]bool
	idle      []*pubChannel
	open      int
	freed     chan struct{} // signalled when a channel is returned

	closing   chan struct{}
	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type pubChannel struct {
	ch   *amqp.Channel
	gen  uint64
	rets *returns
}

// Open dials the first reachable host and starts the supervisor. It fails
// when no host answers before ctx ends.
func Open(ctx context.Context, cfg Config) (*Driver, error) {
	if len(cfg.URL.Hosts) == 0 {
		return nil, errors.New("amqpdriver: no host")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PublishChannels < 1 {
		cfg.PublishChannels = 8
	}
	if cfg.Heartbeat.Rate == 0 {
		cfg.Heartbeat.Rate = DefaultHeartbeatRate
	}
	if err := cfg.Heartbeat.Validate(); err != nil {
		return nil, driver.Permanent(fmt.Errorf("amqpdriver: %w", err))
	}
	cfg.Reconnect = cfg.Reconnect.withDefaults()
	if err := cfg.Reconnect.Validate(); err != nil {
		return nil, driver.Permanent(fmt.Errorf("amqpdriver: %w", err))
	}
	d := &Driver{
		cfg:       cfg,
		log:       cfg.Logger,
		connected: make(chan struct{}),
		freed:     make(chan struct{}, 1),
		closing:   make(chan struct{}),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	conn, host, err := d.dialAny(ctx)
	if err != nil {
		d.cancel()
		return nil, err
	}
	d.setConn(conn, host)
	d.wg.Add(1)
	go d.supervise(conn)
	return d, nil
}

// dialAny tries each host in turn. Its error wraps driver.ErrPermanent when
// every host refused the login (credentials or vhost access): another try
// cannot succeed before the configuration changes.
//
// At start every host is tried once in transport_url order, as kombu's
// first connection goes to the first URL.
func (d *Driver) dialAny(ctx context.Context) (*amqp.Connection, int, error) {
	var errs []error
	allRefused := true
	for i, h := range d.cfg.URL.Hosts {
		conn, err := d.dial(ctx, h)
		if err == nil {
			return conn, i, nil
		}
		allRefused = allRefused && errors.Is(permanent(err), driver.ErrPermanent)
		errs = append(errs, fmt.Errorf("%s:%d: %w", h.Host, h.Port, err))
	}
	err := fmt.Errorf("amqpdriver: no broker answered: %w", errors.Join(errs...))
	if allRefused {
		return nil, 0, driver.Permanent(err)
	}
	return nil, 0, err
}

func (d *Driver) dial(ctx context.Context, h Host) (*amqp.Connection, error) {
	return amqpurl.Dial(ctx, d.cfg.URL, h, amqpurl.DialOptions{Heartbeat: d.cfg.Heartbeat.Timeout, Name: d.cfg.ConnectionName, TLS: d.cfg.TLS})
}

func (d *Driver) setConn(conn *amqp.Connection, host int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn = conn
	d.host = host
	d.gen++
	d.declared = map[string]bool{}
	d.idle = nil
	d.open = 0
	close(d.connected)
}

func (d *Driver) clearConn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn = nil
	d.connected = make(chan struct{})
}

// supervise waits for the connection to die and reconnects, following
// cfg.Reconnect (see Reconnect for the order of hosts and the waits).
func (d *Driver) supervise(conn *amqp.Connection) {
	defer d.wg.Done()
	for {
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-d.closing:
			return
		case err := <-closed:
			d.mu.Lock()
			lost := d.host
			d.mu.Unlock()
			d.clearConn()
			h := d.cfg.URL.Hosts[lost]
			d.log.Warn("rpcsvc: lost the broker connection, reconnecting", "broker", fmt.Sprintf("%s:%d", h.Host, h.Port), "error", err)
			c, ok := d.reconnect(lost)
			if !ok {
				return
			}
			conn = c
		}
	}
}

// reconnect dials until a broker answers or the driver closes.
func (d *Driver) reconnect(lost int) (*amqp.Connection, bool) {
	plan := newPlan(d.cfg.Reconnect, len(d.cfg.URL.Hosts), lost)
	wait := plan.first()
	for {
		if !d.sleep(wait) {
			return nil, false
		}
		i := plan.host()
		h := d.cfg.URL.Hosts[i]
		c, err := d.dial(d.ctx, h)
		if err == nil {
			d.setConn(c, i)
			if d.cfg.Metrics != nil {
				d.cfg.Metrics.Reconnected()
			}
			d.log.Info("rpcsvc: reconnected to the broker", "broker", fmt.Sprintf("%s:%d", h.Host, h.Port))
			return c, true
		}
		wait = plan.failed()
		d.log.Warn("rpcsvc: reconnect failed, retrying", "broker", fmt.Sprintf("%s:%d", h.Host, h.Port), "error", err, "retry_in", wait)
	}
}

// sleep waits d, or returns false at once when the driver closes.
func (d *Driver) sleep(wait time.Duration) bool {
	if wait <= 0 {
		return !d.isClosing()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.closing:
		return false
	case <-t.C:
		return true
	}
}

// current returns the live connection, or nil and the channel closed at the
// next connect.
func (d *Driver) current() (*amqp.Connection, uint64, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn, d.gen, d.connected
}

// waitConnected blocks until connected (or ctx / close).
func (d *Driver) waitConnected(ctx context.Context) (*amqp.Connection, uint64, error) {
	for {
		conn, gen, connected := d.current()
		if conn != nil && !conn.IsClosed() {
			return conn, gen, nil
		}
		select {
		case <-connected:
		case <-d.closing:
			return nil, 0, driver.ErrClosed
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func (d *Driver) isClosing() bool {
	select {
	case <-d.closing:
		return true
	default:
		return false
	}
}

// Close stops the supervisor and every consumer and closes the connection.
func (d *Driver) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.closing)
		d.cancel()
		d.mu.Lock()
		conn := d.conn
		d.mu.Unlock()
		if conn != nil {
			err = conn.Close()
			if errors.Is(err, amqp.ErrClosed) {
				err = nil
			}
		}
		d.wg.Wait()
	})
	return err
}

// --- publishing ---

func (d *Driver) getChannel(ctx context.Context) (*pubChannel, error) {
	for {
		if d.isClosing() {
			return nil, driver.ErrClosed
		}
		d.mu.Lock()
		conn, gen := d.conn, d.gen
		if conn == nil || conn.IsClosed() {
			d.mu.Unlock()
			return nil, driver.ErrNotConnected
		}
		for len(d.idle) > 0 {
			pc := d.idle[len(d.idle)-1]
			d.idle = d.idle[:len(d.idle)-1]
			if pc.gen == gen && !pc.ch.IsClosed() {
				d.mu.Unlock()
				return pc, nil
			}
			d.open--
		}
		if d.open < d.cfg.PublishChannels {
			d.open++
			d.mu.Unlock()
			pc, err := d.newPubChannel(conn, gen)
			if err != nil {
				d.mu.Lock()
				if d.gen == gen {
					d.open--
				}
				d.mu.Unlock()
				return nil, fmt.Errorf("%w: opening a channel: %v", driver.ErrNotConnected, err)
			}
			return pc, nil
		}
		d.mu.Unlock()
		select {
		case <-d.freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-d.closing:
			return nil, driver.ErrClosed
		}
	}
}

func (d *Driver) newPubChannel(conn *amqp.Connection, gen uint64) (*pubChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	in := ch.NotifyReturn(make(chan amqp.Return, returnsBuffer)) // closed when the channel closes
	rets := newReturns(in, func(r amqp.Return) {
		if d.cfg.ReturnedMessages != nil {
			d.cfg.ReturnedMessages(r.Exchange, r.RoutingKey, r.Body)
		} else {
			d.log.Warn("rpcsvc: the broker returned an unroutable message", "exchange", r.Exchange, "routing_key", r.RoutingKey, "reply", r.ReplyText)
		}
	})
	rets.watchers = &d.wg
	return &pubChannel{ch: ch, gen: gen, rets: rets}, nil
}

func (d *Driver) putChannel(pc *pubChannel) {
	d.mu.Lock()
	if pc.gen == d.gen && !pc.ch.IsClosed() {
		d.idle = append(d.idle, pc)
	} else if pc.gen == d.gen {
		d.open--
	}
	d.mu.Unlock()
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// discardChannel forgets a channel the broker closed (a declare failed).
func (d *Driver) discardChannel(pc *pubChannel) {
	_ = pc.ch.Close()
	d.putChannel(pc) // counts it out, as it is closed
}

// Publish implements driver.Driver.
func (d *Driver) Publish(ctx context.Context, p driver.Publishing) error {
	c, err := d.publish(ctx, p)
	if err != nil {
		return err
	}
	return c.Wait(ctx)
}

func (d *Driver) declareExchange(pc *pubChannel, name string, kind driver.ExchangeKind) error {
	d.mu.Lock()
	done := pc.gen == d.gen && d.declared[name]
	d.mu.Unlock()
	if done {
		return nil
	}
	if err := declareExchange(pc.ch, d.cfg, name, kind); err != nil {
		return err
	}
	d.mu.Lock()
	if pc.gen == d.gen {
		d.declared[name] = true
	}
	d.mu.Unlock()
	return nil
}

// DeadLetter implements driver.Driver.
func (d *Driver) DeadLetter(ctx context.Context, queue string, body []byte, reason string) error {
	pc, err := d.getChannel(ctx)
	if err != nil {
		return err
	}
	dlq := driver.DLQName(queue)
	if _, err := pc.ch.QueueDeclare(dlq, true, false, false, false, nil); err != nil {
		d.discardChannel(pc)
		return fmt.Errorf("declaring dead-letter queue %q: %w", dlq, explain(err, dlq))
	}
	msg := amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Body:            body,
		Timestamp:       time.Now(),
		Headers:         amqp.Table{"x-gonova-dead-letter-reason": reason, "x-gonova-original-queue": queue},
	}
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, "", dlq, false, false, msg)
	d.putChannel(pc)
	if err != nil {
		return fmt.Errorf("%w: dead-letter publish: %v", driver.ErrNotConnected, err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return fmt.Errorf("%w: the broker did not confirm the dead letter to %q", driver.ErrNotConnected, dlq)
	}
	return nil
}

// permanent marks err as driver.ErrPermanent when it carries a broker refusal
// that retrying cannot fix: ACCESS_REFUSED (permissions, credentials, vhost)
// or NOT_ALLOWED. Other errors are returned as they are.
func permanent(err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed) {
		return driver.Permanent(err)
	}
	return err
}
