package rpcsvc

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// Pending is a cast of CastAsync on its way: it completes, exactly once,
// with what Cast would have returned for it.
type Pending struct {
	done chan struct{}
	err  error
}

// Done is closed when the cast completed; Err then tells how.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Err is the cast's outcome once Done is closed (nil: the broker confirmed
// it and routed it to a queue), and nil before.
func (p *Pending) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Wait blocks until the cast completed and returns its outcome, or returns
// ctx's error if ctx ends first (the cast goes on, bounded by the context
// given to CastAsync).
func (p *Pending) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pending) complete(err error) {
	p.err = err
	close(p.done)
}

// CastAsync is Cast without the wait: it sends method(args) and returns
// once the message is written to the broker, so that one caller can keep
// many casts in flight; the Pending completes with exactly what Cast would
// have returned (the same confirm, the same retries of a message the broker
// returns, for UnroutableTimeout, and across reconnects, bounded by ctx,
// the client's timeout when ctx has no deadline, and UnavailableTimeout).
// A return is matched to its own message, whatever else is in flight.
//
// The casts of one goroutine leave in the order of its calls; a retried
// cast goes again after those sent since. Each pending cast holds its
// message and a goroutine until it completes: keep a bounded window in
// flight. Transport.Close completes every pending cast before it returns.
//
//	pend := make([]*rpcsvc.Pending, 0, len(items))
//	for _, it := range items {
//		pend = append(pend, cl.CastAsync(ctx, "record", it))
//	}
//	for _, p := range pend {
//		if err := p.Wait(ctx); err != nil { ... }
//	}
func (c *Client) CastAsync(ctx context.Context, method string, args any) *Pending {
	p := &Pending{done: make(chan struct{})}
	body, err := c.castBody(ctx, method, args)
	if err != nil {
		p.complete(err)
		return p
	}
	t := c.t
	t.castMu.Lock()
	if t.castsDone {
		t.castMu.Unlock()
		p.complete(fmt.Errorf("rpcsvc: cast %q to %s: %w", method, c.target, driver.ErrClosed))
		return p
	}
	t.casts.Add(1)
	t.castMu.Unlock()

	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	pub := c.destination()
	pub.Body = body
	first := t.startSend(ctx, c.target, &pub)
	go func() {
		defer t.casts.Done()
		defer cancel()
		if err := t.sendFrom(ctx, c.target, pub, first); err != nil {
			p.complete(fmt.Errorf("rpcsvc: cast %q to %s: %w", method, c.target, err))
			return
		}
		p.complete(nil)
	}()
	return p
}

// castBody checks the version and encodes a cast's message.
func (c *Client) castBody(ctx context.Context, method string, args any) ([]byte, error) {
	if err := c.checkVersion(); err != nil {
		return nil, err
	}
	var members [12]wire.ContextMember
	req, ab, err := c.request(ctx, method, args, members[:0])
	if err != nil {
		return nil, err
	}
	body, err := wire.EncodeRequest(&req)
	putArgs(ab)
	return body, err
}
