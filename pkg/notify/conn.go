package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/internal/amqpurl"
)

// ErrClosed is returned by a Notifier, Publisher or Subscriber after Close.
var ErrClosed = errors.New("notify: closed")

// errNotConnected marks failures that a reconnect may cure (retried per
// [oslo_messaging_notifications] retry).
var errNotConnected = errors.New("notify: not connected to the broker")

// topology is how exchanges and queues are declared: as oslo declares them,
// so Python and Go peers share them.
type topology struct {
	exchange      string // control_exchange
	durableQueues bool   // amqp_durable_queues
	autoDelete    bool   // amqp_auto_delete
	quorumQueue   bool   // rabbit_quorum_queue
	QueueOptions         // the limits and rabbit_ha_queues
}

// QueueOptions are the [oslo_messaging_rabbit] options that add arguments to
// the declaration of the `<topic>.<priority>` queues, as oslo's
// _publish_and_creates_default_queue and declare_topic_consumer add them
// (_get_queue_arguments): a Python peer declaring them with these options
// and a Go one without would refuse each other (PRECONDITION_FAILED).
type QueueOptions struct {
	// QuorumDeliveryLimit, QuorumMaxMemoryLength and QuorumMaxMemoryBytes
	// are rabbit_quorum_delivery_limit, rabbit_quorum_max_memory_length and
	// rabbit_quorum_max_memory_bytes (with QuorumQueue; 0: none).
	QuorumDeliveryLimit, QuorumMaxMemoryLength, QuorumMaxMemoryBytes int
	// HAQueues is rabbit_ha_queues: x-ha-policy all.
	HAQueues bool
}

func (t topology) durable() bool { return t.durableQueues || t.quorumQueue }

func (t topology) queueArgs() amqp.Table {
	args := amqp.Table{}
	if t.HAQueues {
		args["x-ha-policy"] = "all"
	}
	if t.quorumQueue {
		args["x-queue-type"] = "quorum"
		for k, v := range map[string]int{"x-delivery-limit": t.QuorumDeliveryLimit, "x-max-in-memory-length": t.QuorumMaxMemoryLength, "x-max-in-memory-bytes": t.QuorumMaxMemoryBytes} {
			if v > 0 {
				args[k] = int32(v)
			}
		}
	}
	if len(args) == 0 {
		return nil
	}
	return args
}

// declare declares the control exchange (topic) and queue bound to it with
// routingKey, on a channel of its own: a refused declaration closes its
// channel, and must not take publishes or consumers with it.
func (t topology) declare(conn *amqp.Connection, queue, routingKey string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("%w: opening a channel: %v", errNotConnected, err)
	}
	defer func() { _ = ch.Close() }()
	if err := ch.ExchangeDeclare(t.exchange, amqp.ExchangeTopic, t.durable(), t.autoDelete, false, false, nil); err != nil {
		return fmt.Errorf("declaring exchange %q: %w", t.exchange, explain(err))
	}
	if _, err := ch.QueueDeclare(queue, t.durable(), t.autoDelete, false, false, t.queueArgs()); err != nil {
		return fmt.Errorf("declaring queue %q: %w", queue, explain(err))
	}
	if err := ch.QueueBind(queue, routingKey, t.exchange, false, nil); err != nil {
		return fmt.Errorf("binding queue %q to %q with %q: %w", queue, t.exchange, routingKey, explain(err))
	}
	return nil
}

// PreconditionError is a declaration the broker refused because the exchange
// or queue exists with other arguments: retrying cannot help.
type PreconditionError struct {
	// Option names the oslo options to align with the other services.
	Option string
	Err    *amqp.Error
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("the broker has it declared differently (%s): align %s with the services that declared it", e.Err.Reason, e.Option)
}

func (e *PreconditionError) Unwrap() error { return e.Err }

func explain(err error) error {
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case amqp.PreconditionFailed:
		opt := "amqp_durable_queues, rabbit_quorum_queue and amqp_auto_delete"
		switch {
		case strings.Contains(ae.Reason, "'x-queue-type'"):
			opt = "rabbit_quorum_queue"
		case strings.Contains(ae.Reason, "'durable'"):
			opt = "amqp_durable_queues (or rabbit_quorum_queue)"
		case strings.Contains(ae.Reason, "'auto_delete'"):
			opt = "amqp_auto_delete"
		}
		return &PreconditionError{Option: opt, Err: ae}
	case amqp.AccessRefused, amqp.NotAllowed:
		return err
	}
	return fmt.Errorf("%w: %v", errNotConnected, err)
}

// connConfig configures a supervised connection.
type connConfig struct {
	url          amqpurl.URL
	heartbeat    time.Duration // heartbeat_timeout_threshold; 0 disables
	tls          *tls.Config   // nil: TLS only if the URL asks
	reconnectMax time.Duration
	name         string // connection_name shown by the broker
	log          *slog.Logger
	reconnected  func()
}

// conn is a supervised AMQP connection: it reconnects with capped backoff,
// trying the transport_url's hosts in turn, and counts generations so that
// users know when to re-declare.
type conn struct {
	cfg connConfig

	mu        sync.Mutex
	c         *amqp.Connection
	gen       uint64
	connected chan struct{} // closed while connected

	closing   chan struct{}
	ctx       context.Context // cancelled by close
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func dialConn(ctx context.Context, cfg connConfig) (*conn, error) {
	if len(cfg.url.Hosts) == 0 {
		return nil, errors.New("notify: transport_url has no host")
	}
	if cfg.reconnectMax <= 0 {
		cfg.reconnectMax = 5 * time.Second
	}
	if cfg.name == "" {
		cfg.name = filepath.Base(os.Args[0])
	}
	c := &conn{cfg: cfg, connected: make(chan struct{}), closing: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	ac, err := c.dialAny(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.set(ac)
	c.wg.Add(1)
	go c.supervise(ac)
	return c, nil
}

func (c *conn) dialAny(ctx context.Context) (*amqp.Connection, error) {
	var errs []error
	for _, h := range c.cfg.url.Hosts {
		ac, err := c.dial(ctx, h)
		if err == nil {
			return ac, nil
		}
		errs = append(errs, fmt.Errorf("%s:%d: %w", h.Host, h.Port, err))
	}
	return nil, fmt.Errorf("notify: no broker answered: %w", errors.Join(errs...))
}

func (c *conn) dial(ctx context.Context, h amqpurl.Host) (*amqp.Connection, error) {
	return amqpurl.Dial(ctx, c.cfg.url, h, amqpurl.DialOptions{Heartbeat: c.cfg.heartbeat, Name: c.cfg.name, TLS: c.cfg.tls})
}

func (c *conn) set(ac *amqp.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = ac
	c.gen++
	close(c.connected)
}

func (c *conn) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = nil
	c.connected = make(chan struct{})
}

func (c *conn) supervise(ac *amqp.Connection) {
	defer c.wg.Done()
	for {
		closed := ac.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-c.closing:
			return
		case err := <-closed:
			c.clear()
			c.cfg.log.Warn("notify: lost the broker connection, reconnecting", "error", err)
		}
		// Options, not fields: NewExponentialBackOff resets with its own
		// initial interval, so fields set afterwards miss the first wait.
		b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(100*time.Millisecond),
			backoff.WithMaxInterval(c.cfg.reconnectMax), backoff.WithMaxElapsedTime(0))
		for {
			next, err := c.dialAny(c.ctx)
			if err == nil {
				ac = next
				c.set(ac)
				if c.cfg.reconnected != nil {
					c.cfg.reconnected()
				}
				c.cfg.log.Info("notify: reconnected to the broker")
				break
			}
			wait := b.NextBackOff()
			c.cfg.log.Warn("notify: reconnect failed, retrying", "error", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-c.closing:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// get returns the live connection and its generation, waiting for one until
// ctx ends or the connection is closed.
func (c *conn) get(ctx context.Context) (*amqp.Connection, uint64, error) {
	for {
		c.mu.Lock()
		ac, gen, connected := c.c, c.gen, c.connected
		c.mu.Unlock()
		if ac != nil && !ac.IsClosed() {
			return ac, gen, nil
		}
		if ac != nil {
			// Dead but not yet noticed by the supervisor: let it run.
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-t.C:
				continue
			case <-c.closing:
				t.Stop()
				return nil, 0, ErrClosed
			case <-ctx.Done():
				t.Stop()
				return nil, 0, ctx.Err()
			}
		}
		select {
		case <-connected:
		case <-c.closing:
			return nil, 0, ErrClosed
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// close stops the supervisor and closes the connection.
func (c *conn) close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
		c.mu.Lock()
		ac := c.c
		c.mu.Unlock()
		if ac != nil {
			if err = ac.Close(); errors.Is(err, amqp.ErrClosed) {
				err = nil
			}
		}
		c.wg.Wait()
	})
	return err
}
