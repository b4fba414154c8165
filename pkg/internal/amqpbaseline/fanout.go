package amqpbaseline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Fanout is the raw amqp091-go baseline of a fanout cast to many servers:
// N connections (one per simulated service, as each nova-compute process
// has its own), each with one channel, one exclusive queue bound to one
// fanout exchange and one consumer that acknowledges what it gets. It is
// what an RPC fanout cast costs on the broker with no framework at all.
type Fanout struct {
	conns    []*amqp.Connection
	exchange string
	pub      *amqp.Channel
	pubConn  *amqp.Connection

	mu      sync.Mutex
	waiting chan struct{} // closed when remaining reaches 0
	remain  atomic.Int64
	wg      sync.WaitGroup
}

// NewFanout opens n consumers of exchange (declared as a non-durable fanout
// exchange) on url, using up to parallel dials at once.
func NewFanout(ctx context.Context, url, exchange string, n, parallel int) (*Fanout, error) {
	if n <= 0 || parallel <= 0 {
		return nil, errors.New("amqpbaseline: NewFanout needs n > 0 and parallel > 0")
	}
	f := &Fanout{exchange: exchange, conns: make([]*amqp.Connection, n)}
	pubConn, err := amqp.Dial(url)
	if err != nil {
		return nil, fmt.Errorf("amqpbaseline: dial: %w", err)
	}
	f.pubConn = pubConn
	if f.pub, err = pubConn.Channel(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.pub.ExchangeDeclare(exchange, amqp.ExchangeFanout, false, false, false, false, nil); err != nil {
		f.Close()
		return nil, err
	}
	errs := make(chan error, n)
	sem := make(chan struct{}, parallel)
	var dials sync.WaitGroup
	for i := range n {
		dials.Add(1)
		sem <- struct{}{}
		go func() {
			defer dials.Done()
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				errs <- err
				return
			}
			c, err := f.consumer(url, i)
			if err != nil {
				errs <- err
				return
			}
			f.mu.Lock()
			f.conns[i] = c
			f.mu.Unlock()
		}()
	}
	dials.Wait()
	close(errs)
	if err := <-errs; err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *Fanout) consumer(url string, i int) (*amqp.Connection, error) {
	c, err := amqp.Dial(url)
	if err != nil {
		return nil, fmt.Errorf("amqpbaseline: dial consumer %d: %w", i, err)
	}
	ch, err := c.Channel()
	if err == nil {
		err = ch.Qos(64, 0, false)
	}
	var q amqp.Queue
	if err == nil {
		q, err = ch.QueueDeclare("", false, true, true, false, nil)
	}
	if err == nil {
		err = ch.QueueBind(q.Name, "", f.exchange, false, nil)
	}
	var deliveries <-chan amqp.Delivery
	if err == nil {
		deliveries, err = ch.Consume(q.Name, "", false, true, false, false, nil)
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("amqpbaseline: consumer %d: %w", i, err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for d := range deliveries {
			_ = d.Ack(false)
			if f.remain.Add(-1) == 0 {
				f.mu.Lock()
				if f.waiting != nil {
					close(f.waiting)
					f.waiting = nil
				}
				f.mu.Unlock()
			}
		}
	}()
	return c, nil
}

// Once publishes one message to the exchange and returns how long it took
// until every consumer had received it.
func (f *Fanout) Once(ctx context.Context) (time.Duration, error) {
	done := make(chan struct{})
	f.mu.Lock()
	f.waiting = done
	f.remain.Store(int64(len(f.conns)))
	f.mu.Unlock()
	t0 := time.Now()
	if err := f.pub.PublishWithContext(ctx, f.exchange, "", false, false, amqp.Publishing{Body: []byte(`{"method":"poke"}`)}); err != nil {
		return 0, err
	}
	select {
	case <-done:
		return time.Since(t0), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("amqpbaseline: fanout reached %d of %d consumers: %w", int64(len(f.conns))-f.remain.Load(), len(f.conns), ctx.Err())
	}
}

// Close closes every connection and waits for the consumers to end.
func (f *Fanout) Close() {
	f.mu.Lock()
	conns := f.conns
	f.mu.Unlock()
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
	if f.pubConn != nil {
		_ = f.pubConn.Close()
	}
	f.wg.Wait()
}
