package rpcsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Target: Topic is required; Version is the default requested version.
	Target Target
	// VersionCap, when set, refuses (before sending) any version above it.
	VersionCap string
	// Timeout overrides rpc_response_timeout for calls.
	Timeout time.Duration
	// Serializer converts args and results; nil passes them through.
	Serializer Serializer
}

// Client sends calls and casts to a target. It is cheap, immutable and safe
// for concurrent use; Prepare derives variants.
type Client struct {
	t          *Transport
	target     Target
	dest       driver.Publishing // where target's messages go (no body)
	versionCap string
	timeout    time.Duration
	ser        Serializer
}

// NewClient returns a client of t for cfg.Target.
//
//	cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: "compute", Version: "6.0"}, VersionCap: "6.2"})
func NewClient(t *Transport, cfg ClientConfig) (*Client, error) {
	if err := cfg.Target.validate(); err != nil {
		return nil, err
	}
	for _, v := range []string{cfg.Target.Version, cfg.VersionCap} {
		if v != "" {
			if _, _, err := wire.ParseVersion(v); err != nil {
				return nil, fmt.Errorf("rpcsvc: client for %s: %w", cfg.Target, err)
			}
		}
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("rpcsvc: client timeout must be positive, got %s", cfg.Timeout)
	}
	c := &Client{t: t, target: cfg.Target, versionCap: cfg.VersionCap, timeout: cfg.Timeout, ser: cfg.Serializer}
	c.dest = c.destinationOf()
	if c.timeout == 0 {
		c.timeout = t.opts.ResponseTimeout
	}
	if c.ser == nil {
		c.ser = NoOpSerializer{}
	}
	return c, nil
}

// CallOptions are the per-call overrides of Prepare; zero fields keep the
// client's value. (As a zero Fanout keeps the client's, Prepare can turn
// fanout on but not off.)
type CallOptions struct {
	Topic     string
	Server    string
	Namespace string
	Version   string
	Timeout   time.Duration
	Fanout    bool
}

// Prepare returns a copy of c with o applied, as oslo's client.prepare().
//
//	cl.Prepare(rpcsvc.CallOptions{Server: "host1", Version: "6.1", Timeout: 5 * time.Second}).Call(ctx, "ping", args, &out)
func (c *Client) Prepare(o CallOptions) *Client {
	n := *c
	if o.Topic != "" {
		n.target.Topic = o.Topic
	}
	if o.Server != "" {
		n.target.Server = o.Server
	}
	if o.Namespace != "" {
		n.target.Namespace = o.Namespace
	}
	if o.Version != "" {
		n.target.Version = o.Version
	}
	if o.Timeout > 0 {
		n.timeout = o.Timeout
	}
	if o.Fanout {
		n.target.Fanout = true
	}
	n.dest = n.destinationOf()
	return &n
}

// Target is the client's current target.
func (c *Client) Target() Target { return c.target }

// CanSendVersion reports whether v (or, if empty, the target's version) is at
// most the version cap.
func (c *Client) CanSendVersion(v string) bool {
	if v == "" {
		v = c.target.Version
	}
	if c.versionCap == "" {
		return true
	}
	cm, cn, err := wire.ParseVersion(c.versionCap)
	if err != nil {
		return false
	}
	if v == "" {
		v = "1.0"
	}
	vm, vn, err := wire.ParseVersion(v)
	if err != nil {
		return false
	}
	return vm < cm || (vm == cm && vn <= cn)
}

func (c *Client) checkVersion() error {
	if !c.CanSendVersion("") {
		return fmt.Errorf("%w: requested %s, cap %s", ErrVersionCap, c.target.Version, c.versionCap)
	}
	if c.target.Version != "" {
		if _, _, err := wire.ParseVersion(c.target.Version); err != nil {
			return fmt.Errorf("rpcsvc: %w", err)
		}
	}
	return nil
}

// request builds a request for method(args); its context members are
// appended to members (the caller's array, so that a request costs no
// context map).
//
// Args are encoded into a pooled buffer: the caller puts it back with
// putArgs once the request is encoded.
func (c *Client) request(ctx context.Context, method string, args any, members []wire.ContextMember) (wire.Request, *argsBuffer, error) {
	if method == "" {
		return wire.Request{}, nil, errors.New("rpcsvc: empty method name")
	}
	rc, _ := ContextFrom(ctx)
	req := wire.Request{
		Method:         method,
		Namespace:      c.target.Namespace,
		Version:        c.target.Version,
		UniqueID:       hexUUID(),
		ContextMembers: rc.wireMembers(ctx, members),
	}
	if args != nil {
		v, err := c.ser.SerializeEntity(ctx, args)
		if err != nil {
			return wire.Request{}, nil, fmt.Errorf("rpcsvc: serializing args of %q: %w", method, err)
		}
		ab := argsPool.Get().(*argsBuffer)
		ab.b.Reset()
		if err := ab.enc.Encode(v); err != nil { // json.Marshal's output, and a newline
			putArgs(ab)
			return wire.Request{}, nil, fmt.Errorf("rpcsvc: encoding args of %q: %w", method, err)
		}
		b := bytes.TrimSpace(ab.b.Bytes())
		if len(b) == 0 || b[0] != '{' {
			// The message is made before the buffer goes back to the pool:
			// b points into it.
			err := fmt.Errorf("rpcsvc: args of %q must encode as a JSON object (a struct or map), got %s", method, clipBody(b))
			putArgs(ab)
			return wire.Request{}, nil, err
		}
		req.Args = b
		return req, ab, nil
	}
	return req, nil, nil
}

// argsBuffer is a pooled encoder of args (json.Marshal allocates its result
// per message; the envelope copies the args anyway).
type argsBuffer struct {
	b   bytes.Buffer
	enc *json.Encoder
}

var argsPool = sync.Pool{New: func() any {
	ab := &argsBuffer{}
	ab.enc = json.NewEncoder(&ab.b)
	return ab
}}

// putArgs returns ab (nil: none) to the pool, unless it grew large.
func putArgs(ab *argsBuffer) {
	if ab != nil && ab.b.Cap() <= 64<<10 {
		argsPool.Put(ab)
	}
}

// destination is where the target's messages go (computed once per client:
// the routing key is a concatenation).
func (c *Client) destination() driver.Publishing { return c.dest }

func (c *Client) destinationOf() driver.Publishing {
	ex := c.target.exchange(c.t.opts.ControlExchange)
	switch {
	case c.target.Fanout:
		return driver.Publishing{Exchange: fanoutExchange(c.target.Topic), ExchangeKind: driver.Fanout, RoutingKey: c.target.Topic}
	case c.target.Server != "":
		return driver.Publishing{Exchange: ex, ExchangeKind: driver.Topic, RoutingKey: c.target.Topic + "." + c.target.Server}
	default:
		return driver.Publishing{Exchange: ex, ExchangeKind: driver.Topic, RoutingKey: c.target.Topic}
	}
}

// Cast sends method(args) without waiting for a result. It returns once the
// broker confirmed the message and routed it to a queue, retrying across
// reconnects until ctx ends (or, when ctx has no deadline, for the client's
// timeout) or Options.UnavailableTimeout passes without a broker
// (*UnavailableError); a message the broker returns for want of a queue is
// retried for Options.UnroutableTimeout (then *UnroutableError). A fanout
// cast to no queue at all is sent, not an error. CastAsync does the same
// without waiting, to keep many casts in flight.
//
//	err := cl.Prepare(rpcsvc.CallOptions{Fanout: true}).Cast(ctx, "update_cache", CacheArgs{Key: "k"})
func (c *Client) Cast(ctx context.Context, method string, args any) error {
	body, err := c.castBody(ctx, method, args)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	p := c.destination()
	p.Body = body
	if err := c.t.send(ctx, c.target, p); err != nil {
		return fmt.Errorf("rpcsvc: cast %q to %s: %w", method, c.target, err)
	}
	return nil
}

// Call sends method(args) and waits for the result, decoded into result (a
// pointer, or nil to discard it). A handler's error comes back as
// *RemoteError; no reply within the timeout is a *TimeoutError; a broker
// connection lost while waiting is ErrConnectionLost.
//
//	var out PingResult
//	err := cl.Call(ctx, "ping", PingArgs{Arg: "x"}, &out)
func (c *Client) Call(ctx context.Context, method string, args any, result any) (err error) {
	if c.target.Fanout {
		return fmt.Errorf("rpcsvc: call %q: a call cannot be fanout", method)
	}
	if err := c.checkVersion(); err != nil {
		return err
	}
	start := time.Now()
	defer func() { c.t.metrics.callDur.WithLabelValues(method).Observe(time.Since(start).Seconds()) }()

	replyQ, err := c.t.ensureReplyQueue(ctx)
	if err != nil {
		return err
	}
	var members [12]wire.ContextMember
	req, ab, err := c.request(ctx, method, args, members[:0])
	if err != nil {
		return err
	}
	msgID := hexUUID() // used below instead of req.MsgID: req stays on the stack
	req.MsgID = msgID
	req.ReplyQ = replyQ
	secs := c.timeout.Seconds()
	var n json.Number
	if secs == math.Trunc(secs) {
		n = json.Number(strconv.FormatInt(int64(secs), 10))
	} else {
		n = json.Number(strconv.FormatFloat(secs, 'f', -1, 64))
	}
	req.Timeout = &n
	body, err := wire.EncodeRequest(&req)
	putArgs(ab)
	if err != nil {
		return err
	}

	waitCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ch := c.t.addPending(msgID)
	defer c.t.removePending(msgID)

	p := c.destination()
	p.Body = body
	p.Expiration = c.timeout
	if err := c.t.send(waitCtx, c.target, p); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return &TimeoutError{Method: method, Target: c.target, Timeout: c.timeout, MsgID: msgID}
		}
		return fmt.Errorf("rpcsvc: call %q to %s: %w", method, c.target, err)
	}
	select {
	case out := <-ch:
		if out.err != nil {
			return fmt.Errorf("rpcsvc: call %q to %s (msg_id %s): %w", method, c.target, msgID, out.err)
		}
		if out.reply.Failure != nil {
			return remoteErrorOf(out.reply.Failure)
		}
		if result == nil || len(out.reply.Result) == 0 {
			return nil
		}
		raw, err := c.ser.DeserializeEntity(ctx, out.reply.Result)
		if err != nil {
			return fmt.Errorf("rpcsvc: deserializing the result of %q: %w", method, err)
		}
		if err := json.Unmarshal(raw, result); err != nil {
			return fmt.Errorf("rpcsvc: decoding the result of %q into %T: %w", method, result, err)
		}
		return nil
	case <-waitCtx.Done():
		if ctx.Err() != nil {
			return fmt.Errorf("rpcsvc: call %q to %s: %w", method, c.target, ctx.Err())
		}
		return &TimeoutError{Method: method, Target: c.target, Timeout: c.timeout, MsgID: msgID}
	}
}

// send publishes a cast or call p to target, Mandatory unless fanout (a
// fanout exchange without queues is a fanout to no one, not an error). A
// message the broker returns (no queue bound) is published again with
// backoff until UnroutableTimeout has passed since the first return: then
// *UnroutableError. Connection failures are retried until ctx ends or, when
// UnavailableTimeout is set, until the broker has been unreachable that long
// (each attempt's confirm is bounded by it too): then *UnavailableError.
// Permanent errors end it at once.
func (t *Transport) send(ctx context.Context, target Target, p driver.Publishing) error {
	p.Mandatory = !target.Fanout
	return t.sendFrom(ctx, target, p, nil)
}

// started is a first publish attempt already under way (PublishAsync): its
// confirm, when it began, and the cancel of its context.
type started struct {
	confirm driver.Confirm
	began   time.Time
	cancel  context.CancelFunc
}

// startSend begins send's first attempt and returns without waiting for the
// confirm; sendFrom with it finishes what send would have done.
func (t *Transport) startSend(ctx context.Context, target Target, p *driver.Publishing) *started {
	p.Mandatory = !target.Fanout
	st := &started{began: time.Now(), cancel: func() {}}
	actx := ctx
	if d := t.opts.UnavailableTimeout; d > 0 {
		actx, st.cancel = context.WithTimeout(ctx, d)
	}
	st.confirm = t.drv.PublishAsync(actx, *p)
	return st
}

// sendFrom is send's loop; first, when set, is its first attempt, already
// published.
func (t *Transport) sendFrom(ctx context.Context, target Target, p driver.Publishing, first *started) error {
	var b *backoff.ExponentialBackOff // made at the first retry
	var downSince, returnedSince time.Time
	unavailable := t.opts.UnavailableTimeout
	for attempt := 1; ; attempt++ {
		var began time.Time
		var err error
		if attempt == 1 && first != nil {
			began = first.began
			err = first.confirm.Wait(ctx)
			first.cancel()
		} else {
			began = time.Now()
			actx, cancel := ctx, context.CancelFunc(func() {})
			if unavailable > 0 {
				actx, cancel = context.WithTimeout(ctx, unavailable)
			}
			err = t.drv.Publish(actx, p)
			cancel()
		}
		if err == nil {
			return nil
		}
		now := time.Now()
		var ue *driver.UnroutableError
		var deadline time.Time // of this retry, zero for ctx's
		switch {
		case errors.As(err, &ue):
			downSince = time.Time{}
			if returnedSince.IsZero() {
				returnedSince = began
			}
			waited := now.Sub(returnedSince)
			if t.opts.UnroutableTimeout < 0 || waited >= t.opts.UnroutableTimeout {
				t.metrics.sendFailed(sendUnroutable)
				return &UnroutableError{Target: target, Waited: waited, Err: ue}
			}
			deadline = returnedSince.Add(t.opts.UnroutableTimeout)
		case ctx.Err() != nil:
			if !errors.Is(err, ctx.Err()) {
				return fmt.Errorf("%w (after %d attempts; last: %v)", ctx.Err(), attempt, err)
			}
			return err
		case unavailable > 0 && errors.Is(err, context.DeadlineExceeded):
			t.metrics.sendFailed(sendUnavailable)
			return &UnavailableError{Waited: now.Sub(began), Err: fmt.Errorf("the broker did not confirm the message within %s", unavailable)}
		case !retryablePublish(err):
			return err
		case unavailable > 0:
			if downSince.IsZero() {
				downSince = began
			}
			if waited := now.Sub(downSince); waited >= unavailable {
				t.metrics.sendFailed(sendUnavailable)
				return &UnavailableError{Waited: waited, Err: err}
			}
			deadline = downSince.Add(unavailable)
		}
		if b == nil {
			b = newBackoff()
		}
		wait := b.NextBackOff()
		if !deadline.IsZero() {
			wait = max(min(wait, time.Until(deadline)), time.Millisecond)
		}
		t.log.Debug("rpcsvc: retrying", "what", "publish to "+p.Exchange+"/"+p.RoutingKey, "attempt", attempt, "error", err)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (after %d attempts; last: %v)", ctx.Err(), attempt, err)
		case <-t.closing:
			timer.Stop()
			return fmt.Errorf("%w (after %d attempts; last: %v)", driver.ErrClosed, attempt, err)
		case <-timer.C:
		}
	}
}

func newBackoff() *backoff.ExponentialBackOff {
	// Options, not fields: NewExponentialBackOff resets with its own
	// initial interval, so fields set afterwards miss the first wait.
	return backoff.NewExponentialBackOff(backoff.WithInitialInterval(50*time.Millisecond),
		backoff.WithMaxInterval(time.Second), backoff.WithMaxElapsedTime(0))
}

// publish sends p, retrying connection failures with backoff until ctx ends.
func (t *Transport) publish(ctx context.Context, p driver.Publishing) error {
	return t.retry(ctx, "publish to "+p.Exchange+"/"+p.RoutingKey, func() error { return t.drv.Publish(ctx, p) })
}

// retry runs op until it succeeds, fails permanently, or ctx ends.
func (t *Transport) retry(ctx context.Context, what string, op func() error) error {
	b := newBackoff()
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if !retryablePublish(err) || ctx.Err() != nil {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				return fmt.Errorf("%w (after %d attempts; last: %v)", ctx.Err(), attempt, err)
			}
			return err
		}
		wait := b.NextBackOff()
		t.log.Debug("rpcsvc: retrying", "what", what, "attempt", attempt, "error", err)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (after %d attempts; last: %v)", ctx.Err(), attempt, err)
		case <-timer.C:
		}
	}
}

func retryablePublish(err error) bool {
	switch {
	case errors.Is(err, driver.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, driver.ErrPermanent), errors.Is(err, driver.ErrUnroutable):
		// A returned reply finds no queue on a second try either: the
		// caller is gone.
		return false
	}
	return true
}
