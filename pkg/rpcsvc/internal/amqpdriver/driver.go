// Package amqpdriver is rpcsvc's RabbitMQ driver on amqp091-go: a supervised
// connection that reconnects with backoff across failover hosts, a pool of
// confirm-mode channels for publishing, and consumers that re-declare their
// topology and resume after every reconnect. See package rpcsvc's doc for why
// this is not watermill-amqp.
package amqpdriver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
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
	TransientTTL     time.Duration // rabbit_transient_queues_ttl; <= 0: no x-expires / x-max-age
	TransientQuorum  bool          // rabbit_transient_quorum_queue
	DeliveryLimit    int           // rabbit_quorum_delivery_limit
	MaxMemoryLength  int           // rabbit_quorum_max_memory_length
	MaxMemoryBytes   int           // rabbit_quorum_max_memory_bytes
	HAQueues         bool          // rabbit_ha_queues
	StreamFanout     bool          // rabbit_stream_fanout
	Heartbeat        time.Duration // heartbeat_timeout_threshold / 2
	TLS              *tls.Config   // ssl options; nil: TLS only if URL asks
	PublishChannels  int
	ReconnectMax     time.Duration
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
	gen       uint64
	connected chan struct{} // closed while connected
	declared  map[string]bool
	idle      []*pubChannel
	open      int
	freed     chan struct{} // signalled when a channel is returned

	idPrefix  string        // of the message ids of Mandatory publishes
	published atomic.Uint64 // Mandatory publishes so far

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

// returns correlates a channel's basic.return frames with its Mandatory
// publishes. RabbitMQ sends a returned message's basic.return before its
// basic.ack on the same channel, and amqp091-go hands both over in that order
// from its one reader goroutine: the return is in the NotifyReturn channel
// (or already taken by the loop) by the time the publisher sees its ack. A
// publisher then asks the loop to take everything buffered (sync) and looks
// its message id up. Returns carry no delivery tag, so each Mandatory
// publish carries a message_id of its own (Python peers ignore it).
type returns struct {
	mu       sync.Mutex
	expected map[string]bool   // message ids of Mandatory publishes awaiting their confirm
	returned map[string]string // message id -> the broker's reply text
	sync     chan chan struct{}
	done     chan struct{} // closed when the channel's returns have ended
	// unexpected handles a return no publisher waits for (it gave up).
	unexpected func(amqp.Return)
}

func (r *returns) expect(id string) {
	r.mu.Lock()
	r.expected[id] = true
	r.mu.Unlock()
}

// take forgets id and reports whether its message was returned, and why.
func (r *returns) take(id string) (reason string, returned bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reason, returned = r.returned[id]
	delete(r.returned, id)
	delete(r.expected, id)
	return reason, returned
}

func (r *returns) record(ret amqp.Return) {
	r.mu.Lock()
	if r.expected[ret.MessageId] {
		r.returned[ret.MessageId] = ret.ReplyText
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.unexpected(ret)
}

// loop records every return until the channel closes.
func (r *returns) loop(in <-chan amqp.Return) {
	defer close(r.done)
	for {
		select {
		case ret, ok := <-in:
			if !ok {
				return
			}
			r.record(ret)
		case reply := <-r.sync:
			for drained := false; !drained; {
				select {
				case ret, ok := <-in:
					if !ok {
						close(reply)
						return
					}
					r.record(ret)
				default:
					drained = true
				}
			}
			close(reply)
		}
	}
}

// wait returns once every return the reader handed over before the call is
// recorded.
func (r *returns) wait(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case r.sync <- reply:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
	case <-r.done:
	}
	return nil
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
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 5 * time.Second
	}
	d := &Driver{
		cfg:       cfg,
		log:       cfg.Logger,
		connected: make(chan struct{}),
		freed:     make(chan struct{}, 1),
		closing:   make(chan struct{}),
		idPrefix:  "gonova-" + randomHex(6) + "-",
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	conn, err := d.dialAny(ctx)
	if err != nil {
		d.cancel()
		return nil, err
	}
	d.setConn(conn)
	d.wg.Add(1)
	go d.supervise(conn)
	return d, nil
}

// dialAny tries each host in turn. Its error wraps driver.ErrPermanent when
// every host refused the login (credentials or vhost access): another try
// cannot succeed before the configuration changes.
func (d *Driver) dialAny(ctx context.Context) (*amqp.Connection, error) {
	var errs []error
	allRefused := true
	for _, h := range d.cfg.URL.Hosts {
		conn, err := d.dial(ctx, h)
		if err == nil {
			return conn, nil
		}
		allRefused = allRefused && errors.Is(permanent(err), driver.ErrPermanent)
		errs = append(errs, fmt.Errorf("%s:%d: %w", h.Host, h.Port, err))
	}
	err := fmt.Errorf("amqpdriver: no broker answered: %w", errors.Join(errs...))
	if allRefused {
		return nil, driver.Permanent(err)
	}
	return nil, err
}

func (d *Driver) dial(ctx context.Context, h Host) (*amqp.Connection, error) {
	return amqpurl.Dial(ctx, d.cfg.URL, h, amqpurl.DialOptions{Heartbeat: d.cfg.Heartbeat, Name: d.cfg.ConnectionName, TLS: d.cfg.TLS})
}

func (d *Driver) setConn(conn *amqp.Connection) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn = conn
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

// supervise waits for the connection to die and reconnects with backoff.
func (d *Driver) supervise(conn *amqp.Connection) {
	defer d.wg.Done()
	for {
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-d.closing:
			return
		case err := <-closed:
			d.clearConn()
			d.log.Warn("rpcsvc: lost the broker connection, reconnecting", "error", err)
		}
		// Options, not fields: NewExponentialBackOff resets with its own
		// initial interval, so fields set afterwards miss the first wait.
		b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(100*time.Millisecond),
			backoff.WithMaxInterval(d.cfg.ReconnectMax), backoff.WithMaxElapsedTime(0))
		for {
			c, err := d.dialAny(d.ctx)
			if err == nil {
				conn = c
				d.setConn(conn)
				if d.cfg.Metrics != nil {
					d.cfg.Metrics.Reconnected()
				}
				d.log.Info("rpcsvc: reconnected to the broker")
				break
			}
			wait := b.NextBackOff()
			d.log.Warn("rpcsvc: reconnect failed, retrying", "error", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-d.closing:
				t.Stop()
				return
			case <-t.C:
			}
		}
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
	in := ch.NotifyReturn(make(chan amqp.Return, 16)) // closed when the channel closes
	rets := &returns{
		expected: map[string]bool{}, returned: map[string]string{},
		sync: make(chan chan struct{}), done: make(chan struct{}),
		unexpected: func(r amqp.Return) {
			if d.cfg.ReturnedMessages != nil {
				d.cfg.ReturnedMessages(r.Exchange, r.RoutingKey, r.Body)
			} else {
				d.log.Warn("rpcsvc: the broker returned an unroutable message", "exchange", r.Exchange, "routing_key", r.RoutingKey, "reply", r.ReplyText)
			}
		},
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		rets.loop(in)
	}()
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
	pc, err := d.getChannel(ctx)
	if err != nil {
		return err
	}
	if p.Exchange != "" {
		if err := d.declareExchange(pc, p.Exchange, p.ExchangeKind); err != nil {
			d.discardChannel(pc)
			return err
		}
	}
	msg := amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Body:            p.Body,
		Timestamp:       time.Now(),
	}
	if p.Expiration > 0 {
		msg.Expiration = fmt.Sprint(p.Expiration.Milliseconds())
	}
	rets := pc.rets
	if p.Mandatory {
		msg.MessageId = d.publishID()
		rets.expect(msg.MessageId)
		defer rets.take(msg.MessageId)
	}
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, p.Exchange, p.RoutingKey, p.Mandatory, false, msg)
	// Confirms are awaited off the channel so that other publishers can use it.
	d.putChannel(pc)
	if err != nil {
		return fmt.Errorf("%w: publish: %v", driver.ErrNotConnected, err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return fmt.Errorf("%w: the broker did not confirm the message to %q/%q (nack or connection lost)", driver.ErrNotConnected, p.Exchange, p.RoutingKey)
	}
	if p.Mandatory {
		if err := rets.wait(ctx); err != nil {
			return err
		}
		if reason, returned := rets.take(msg.MessageId); returned {
			return &driver.UnroutableError{Exchange: p.Exchange, RoutingKey: p.RoutingKey, Reason: reason}
		}
	}
	return nil
}

// publishID is a message_id no other publish of this process carries.
func (d *Driver) publishID() string {
	return d.idPrefix + strconv.FormatUint(d.published.Add(1), 36)
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
