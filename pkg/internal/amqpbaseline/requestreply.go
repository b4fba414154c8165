package amqpbaseline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// RequestReply is a raw request-reply pair on one broker: an echo server
// consuming a request queue and a client with one reply queue, correlating
// replies by correlation id. Client and server use separate connections, as
// two processes would. It is safe for concurrent Call.
//
//	rr, err := amqpbaseline.NewRequestReply(ctx, url, "")
//	if err != nil { ... }
//	defer rr.Close()
//	reply, err := rr.Call(ctx, []byte("ping"))
type RequestReply struct {
	queue      string
	replyQueue string

	serverConn *conn
	clientConn *conn
	pub        *amqp.Channel // client's publishing channel
	pubMu      sync.Mutex    // amqp091 channels are not safe for concurrent publish

	mu      sync.Mutex
	waiting map[string]chan []byte

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewRequestReply connects a server and a client. queue is the request queue
// name; empty means a fresh amqpbaseline_rr_<uuid>. Both queues are
// auto-deleted when Close ends their consumers.
func NewRequestReply(ctx context.Context, url, queue string) (*RequestReply, error) {
	if queue == "" {
		queue = "amqpbaseline_rr_" + uuid.NewString()
	}
	rr := &RequestReply{
		queue:      queue,
		replyQueue: "reply_" + uuid.NewString(),
		waiting:    make(map[string]chan []byte),
	}
	var err error
	if rr.serverConn, err = dial(url); err != nil {
		return nil, fmt.Errorf("amqpbaseline: dial server: %w", err)
	}
	if rr.clientConn, err = dial(url); err != nil {
		_ = rr.serverConn.shut(5 * time.Second)
		return nil, fmt.Errorf("amqpbaseline: dial client: %w", err)
	}
	if err := rr.startServer(ctx); err != nil {
		_ = rr.Close()
		return nil, err
	}
	if err := rr.startClient(ctx); err != nil {
		_ = rr.Close()
		return nil, err
	}
	return rr, nil
}

func (rr *RequestReply) startServer(ctx context.Context) error {
	ch, err := rr.serverConn.Channel()
	if err != nil {
		return fmt.Errorf("amqpbaseline: server channel: %w", err)
	}
	if _, err := ch.QueueDeclare(rr.queue, false, true, false, false, nil); err != nil {
		return fmt.Errorf("amqpbaseline: declare %s: %w", rr.queue, err)
	}
	if err := ch.Qos(64, 0, false); err != nil {
		return fmt.Errorf("amqpbaseline: server qos: %w", err)
	}
	// The deliveries channel ends when the connection closes (Close).
	deliveries, err := ch.ConsumeWithContext(ctx, rr.queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqpbaseline: server consume: %w", err)
	}
	rr.wg.Add(1)
	go func() {
		defer rr.wg.Done()
		for d := range deliveries {
			// Reply first, then ack, as an RPC server that must not lose a
			// call does; publish and ack share the consuming channel.
			_ = ch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp.Publishing{
				ContentType:   d.ContentType,
				DeliveryMode:  amqp.Persistent,
				CorrelationId: d.CorrelationId,
				Body:          d.Body,
			})
			_ = d.Ack(false)
		}
	}()
	return nil
}

func (rr *RequestReply) startClient(ctx context.Context) error {
	ch, err := rr.clientConn.Channel()
	if err != nil {
		return fmt.Errorf("amqpbaseline: client channel: %w", err)
	}
	if _, err := ch.QueueDeclare(rr.replyQueue, false, true, true, false, nil); err != nil {
		return fmt.Errorf("amqpbaseline: declare %s: %w", rr.replyQueue, err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, rr.replyQueue, "", false, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqpbaseline: client consume: %w", err)
	}
	rr.wg.Add(1)
	go func() {
		defer rr.wg.Done()
		for d := range deliveries {
			_ = d.Ack(false)
			rr.mu.Lock()
			w, ok := rr.waiting[d.CorrelationId]
			delete(rr.waiting, d.CorrelationId)
			rr.mu.Unlock()
			if ok {
				w <- d.Body // buffered, never blocks
			}
		}
	}()
	if rr.pub, err = rr.clientConn.Channel(); err != nil {
		return fmt.Errorf("amqpbaseline: client publish channel: %w", err)
	}
	return nil
}

// Call sends body to the echo server and waits, bounded by ctx, for the reply.
func (rr *RequestReply) Call(ctx context.Context, body []byte) ([]byte, error) {
	id := uuid.NewString()
	w := make(chan []byte, 1)
	rr.mu.Lock()
	rr.waiting[id] = w
	rr.mu.Unlock()
	forget := func() {
		rr.mu.Lock()
		delete(rr.waiting, id)
		rr.mu.Unlock()
	}
	msg := amqp.Publishing{
		ContentType:   "application/json",
		DeliveryMode:  amqp.Persistent,
		CorrelationId: id,
		ReplyTo:       rr.replyQueue,
		Body:          body,
	}
	if dl, ok := ctx.Deadline(); ok {
		msg.Expiration = fmt.Sprint(max(1, time.Until(dl).Milliseconds()))
	}
	rr.pubMu.Lock()
	err := rr.pub.PublishWithContext(ctx, "", rr.queue, false, false, msg)
	rr.pubMu.Unlock()
	if err != nil {
		forget()
		return nil, fmt.Errorf("amqpbaseline: publish request: %w", err)
	}
	select {
	case reply := <-w:
		return reply, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("amqpbaseline: waiting for reply: %w", ctx.Err())
	}
}

// RoundTrips makes n sequential calls of a bodySize-byte request, after
// warmup unmeasured ones, and returns each call's latency.
func (rr *RequestReply) RoundTrips(ctx context.Context, n, warmup, bodySize int) (Latencies, error) {
	body := make([]byte, bodySize)
	for i := range body {
		body[i] = 'x'
	}
	lat := make(Latencies, 0, n)
	for i := 0; i < warmup+n; i++ {
		start := time.Now()
		got, err := rr.Call(ctx, body)
		if err != nil {
			return nil, err
		}
		if len(got) != len(body) {
			return nil, fmt.Errorf("amqpbaseline: echo returned %d bytes, sent %d", len(got), len(body))
		}
		if i >= warmup {
			lat = append(lat, time.Since(start))
		}
	}
	return lat, nil
}

// Close closes both connections and waits for the consumer goroutines.
func (rr *RequestReply) Close() error {
	rr.closeOnce.Do(func() {
		var errs []error
		if rr.clientConn != nil {
			errs = append(errs, rr.clientConn.shut(5*time.Second))
		}
		if rr.serverConn != nil {
			errs = append(errs, rr.serverConn.shut(5*time.Second))
		}
		rr.wg.Wait()
		rr.closeErr = errors.Join(errs...)
	})
	return rr.closeErr
}
