package rpcsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/amqpdriver"
	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/rpcsvc/internal/memdriver"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// Transport is a connection to the message bus, shared by the clients and
// servers of a process. It owns the process's reply queue.
type Transport struct {
	opts    Options
	drv     driver.Driver
	log     *slog.Logger
	metrics *metrics
	names   queueNamer

	replyMu       sync.Mutex
	replyQ        string
	replyConsumer driver.Consumer
	pending       map[string]chan replyOutcome

	closing   chan struct{} // closed by Close: retries stop
	castMu    sync.Mutex
	castsDone bool           // set by Close: no new CastAsync
	casts     sync.WaitGroup // CastAsync's casts in flight
	closeOnce sync.Once
}

type replyOutcome struct {
	reply *wire.Reply
	err   error
}

// Open connects to the bus named by opts.TransportURL. For rabbit:// it
// returns once connected (trying each host in turn) or fails when ctx ends.
//
//	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: "memory://test"})
func Open(ctx context.Context, opts Options) (*Transport, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("rpcsvc: registering metrics: %w", err)
	}
	t := &Transport{opts: opts, log: opts.Logger, metrics: m, pending: map[string]chan replyOutcome{}, closing: make(chan struct{})}
	inMemory := strings.HasPrefix(opts.TransportURL, "memory://")
	if t.names, err = newQueueNamer(opts, !inMemory); err != nil {
		return nil, err
	}
	switch {
	case inMemory:
		name, err := memdriver.ParseName(opts.TransportURL)
		if err != nil {
			return nil, err
		}
		t.drv = memdriver.Open(name)
	default:
		u, err := amqpdriver.ParseURL(opts.TransportURL)
		if err != nil {
			return nil, fmt.Errorf("rpcsvc: %w", err)
		}
		d, err := amqpdriver.Open(ctx, amqpdriver.Config{
			URL:              u,
			DurableQueues:    opts.DurableQueues,
			AutoDelete:       opts.AutoDelete,
			QuorumQueue:      opts.QuorumQueue,
			TransientTTL:     opts.TransientQueuesTTL,
			TransientQuorum:  opts.TransientQuorumQueue,
			DeliveryLimit:    opts.QuorumDeliveryLimit,
			MaxMemoryLength:  opts.QuorumMaxMemoryLength,
			MaxMemoryBytes:   opts.QuorumMaxMemoryBytes,
			HAQueues:         opts.HAQueues,
			StreamFanout:     opts.StreamFanout,
			Heartbeat:        opts.heartbeat(),
			TLS:              opts.TLS,
			PublishChannels:  opts.PublishChannels,
			Reconnect:        opts.reconnect(),
			CancelOnFailover: opts.EnableCancelOnFailover,
			ConnectionName:   connectionName(),
			Logger:           opts.Logger,
			Metrics:          m,
			ReturnedMessages: func(exchange, key string, _ []byte) {
				// A return whose publisher stopped waiting (its context ended).
				opts.Logger.Warn("rpcsvc: a message found no queue and was dropped", "exchange", exchange, "routing_key", key)
			},
		})
		if err != nil {
			return nil, fmt.Errorf("rpcsvc: %w", err)
		}
		t.drv = d
	}
	return t, nil
}

// Close closes the reply queue's consumer and the connection. Calls still
// waiting fail with ErrConnectionLost; casts of CastAsync still pending
// complete (confirmed or failed) before it returns. Stop servers before closing their
// transport.
func (t *Transport) Close(ctx context.Context) error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closing)
		t.castMu.Lock()
		t.castsDone = true
		t.castMu.Unlock()
		t.replyMu.Lock()
		rc := t.replyConsumer
		t.replyConsumer = nil
		t.replyMu.Unlock()
		if rc != nil {
			err = errors.Join(rc.Cancel(ctx), rc.Close())
		}
		t.failPending(driver.ErrClosed)
		err = errors.Join(err, t.drv.Close())
		// Closing the connection completes every confirm still awaited.
		t.casts.Wait()
	})
	return err
}

// ensureReplyQueue declares and consumes the process's reply queue once.
func (t *Transport) ensureReplyQueue(ctx context.Context) (string, error) {
	t.replyMu.Lock()
	defer t.replyMu.Unlock()
	if t.replyConsumer != nil {
		return t.replyQ, nil
	}
	if t.replyQ == "" {
		q, err := t.names.replyQueue()
		if err != nil {
			return "", err
		}
		t.replyQ = q
	}
	cctx := ctx
	if d := t.opts.UnavailableTimeout; d > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	c, err := t.drv.Consume(cctx, driver.ConsumeSpec{
		Queues:      []driver.Queue{{Name: t.replyQ, Kind: driver.Reply}},
		Prefetch:    max(t.opts.prefetch(), 64),
		Handle:      t.onReply,
		Interrupted: func(error) { t.failPending(ErrConnectionLost) },
	})
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		t.metrics.sendFailed(sendUnavailable)
		err = &UnavailableError{Waited: t.opts.UnavailableTimeout, Err: err}
	}
	if err != nil {
		return "", fmt.Errorf("rpcsvc: reply queue %s: %w", t.replyQ, err)
	}
	t.replyConsumer = c
	return t.replyQ, nil
}

func (t *Transport) onReply(d driver.Delivery) {
	defer func() { _ = d.Ack() }()
	r, err := wire.DecodeReply(d.Body)
	if err != nil {
		t.log.Warn("rpcsvc: dropped an undecodable reply", "queue", d.Queue, "error", err, "body", clipBody(d.Body))
		return
	}
	if r.IsKeepAlive() {
		// Accepted, extends nothing: the caller's timeout stands, as in oslo.
		t.log.Debug("rpcsvc: keep-alive reply", "msg_id", r.MsgID)
		return
	}
	t.replyMu.Lock()
	ch, ok := t.pending[r.MsgID]
	delete(t.pending, r.MsgID)
	t.replyMu.Unlock()
	if !ok {
		t.log.Debug("rpcsvc: reply for an unknown or finished call dropped", "msg_id", r.MsgID)
		return
	}
	ch <- replyOutcome{reply: r}
}

func (t *Transport) addPending(msgID string) chan replyOutcome {
	ch := make(chan replyOutcome, 1)
	t.replyMu.Lock()
	t.pending[msgID] = ch
	t.replyMu.Unlock()
	return ch
}

func (t *Transport) removePending(msgID string) {
	t.replyMu.Lock()
	delete(t.pending, msgID)
	t.replyMu.Unlock()
}

func (t *Transport) failPending(err error) {
	t.replyMu.Lock()
	defer t.replyMu.Unlock()
	for id, ch := range t.pending {
		ch <- replyOutcome{err: err}
		delete(t.pending, id)
	}
}

// hexUUID is a random (version 4) UUID in hex without dashes, as oslo's
// uuid.uuid4().hex: one allocation, the string (uuid.New().String() and a
// ReplaceAll cost three per message).
func hexUUID() string {
	var u uuid.UUID
	if _, err := rand.Read(u[:]); err != nil {
		return strings.ReplaceAll(uuid.NewString(), "-", "") // never: crypto/rand does not fail
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var b [32]byte
	hex.Encode(b[:], u[:])
	return string(b[:])
}

func clipBody(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
