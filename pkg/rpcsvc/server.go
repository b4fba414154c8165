package rpcsvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Target: Topic and Server (the host) are required.
	Target Target
	// Endpoints are tried in order, as oslo's dispatcher does.
	Endpoints []Endpoint
	// Serializer converts args and results; nil passes them through.
	Serializer Serializer
}

// Server consumes `<topic>`, `<topic>.<server>` and a `<topic>_fanout_<uuid>`
// queue and dispatches each message to its endpoints.
type Server struct {
	t      *Transport
	target Target
	disp   *dispatcher
	log    *slog.Logger
	dedup  *dedup
	queues []driver.Queue
	known  map[string]bool // method label values

	mu       sync.Mutex
	started  bool
	stopped  bool
	consumer driver.Consumer
	work     chan driver.Delivery
	stopping chan struct{}
	workers  sync.WaitGroup
	pool     workerPool // started on demand, see workers.go
	// handlerCtx is the context handlers run under; cancelled when Stop's
	// deadline passes.
	handlerCtx    context.Context
	cancelHandler context.CancelFunc
}

// NewServer validates the endpoints and returns a server; Start starts it.
//
//	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{
//		Target:    rpcsvc.Target{Topic: "compute", Server: "host1"},
//		Endpoints: []rpcsvc.Endpoint{{Version: "6.2", Impl: mgr}, {Namespace: "baseapi", Version: "1.1", Impl: base}},
//	})
func NewServer(t *Transport, cfg ServerConfig) (*Server, error) {
	if err := cfg.Target.validate(); err != nil {
		return nil, err
	}
	if cfg.Target.Server == "" {
		return nil, fmt.Errorf("rpcsvc: server target %s has no server (host)", cfg.Target)
	}
	d, err := newDispatcher(cfg.Endpoints, cfg.Serializer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		t:      t,
		target: cfg.Target,
		disp:   d,
		log:    t.log.With("topic", cfg.Target.Topic, "server", cfg.Target.Server),
		dedup:  newDedup(t.opts.DedupCacheSize),
		known:  map[string]bool{},
	}
	names := d.methodNames()
	for _, n := range names {
		s.known[n] = true
	}
	t.metrics.initMethods(names)
	ex := cfg.Target.exchange(t.opts.ControlExchange)
	topic := cfg.Target.Topic
	fanoutQ, err := t.names.fanoutQueue(topic)
	if err != nil {
		return nil, err
	}
	s.queues = []driver.Queue{
		{Name: topic, Kind: driver.Shared, Exchange: ex, ExchangeKind: driver.Topic},
		{Name: topic + "." + cfg.Target.Server, Kind: driver.Shared, Exchange: ex, ExchangeKind: driver.Topic},
		{Name: fanoutQ, Kind: driver.Transient, Exchange: fanoutExchange(topic), ExchangeKind: driver.Fanout,
			DeleteOnClose: t.names.randomFanout()},
	}
	return s, nil
}

// Queues names the queues the server consumes (the last is its fanout queue).
func (s *Server) Queues() []string {
	out := make([]string, len(s.queues))
	for i, q := range s.queues {
		out[i] = q.Name
	}
	return out
}

// Start declares the queues and starts consuming. It returns once the server
// is consuming, or the declaration error (a PRECONDITION_FAILED names the
// option to align).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("rpcsvc: server already started")
	}
	n := s.t.opts.ExecutorThreadPoolSize
	prefetch := s.t.opts.prefetch()
	s.work = make(chan driver.Delivery, prefetch)
	s.pool = workerPool{size: n, idleTimeout: workerIdleTimeout}
	s.stopping = make(chan struct{})
	s.handlerCtx, s.cancelHandler = context.WithCancel(context.WithoutCancel(ctx))
	c, err := s.t.drv.Consume(ctx, driver.ConsumeSpec{
		Queues:   s.queues,
		Prefetch: prefetch,
		Handle:   s.enqueue,
		Interrupted: func(err error) {
			s.log.Warn("rpcsvc: server lost its broker channel; resuming when reconnected", "error", err)
		},
		Resumed: func() { s.log.Info("rpcsvc: server consuming again") },
	})
	if err != nil {
		s.cancelHandler()
		return fmt.Errorf("rpcsvc: starting server %s: %w", s.target, err)
	}
	s.consumer = c
	s.started = true
	s.log.Info("rpcsvc: server consuming", "queues", s.Queues(), "executor_thread_pool_size", n, "prefetch", prefetch)
	return nil
}

// Stop stops consuming, waits for running handlers until ctx ends (then
// cancels their context), and closes the channel; unfinished messages return
// to the queue. It is idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	s.mu.Unlock()

	s.pool.close()
	close(s.stopping)
	cancelErr := s.consumer.Cancel(ctx)
	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelHandler()
		err = fmt.Errorf("rpcsvc: server %s: handlers still running when the stop deadline passed: %w", s.target, ctx.Err())
	}
	s.cancelHandler()
	closeErr := s.consumer.Close()
	if err == nil {
		err = errors.Join(cancelErr, closeErr)
	}
	s.log.Info("rpcsvc: server stopped")
	return err
}

func (s *Server) label(method string) string {
	if s.known[method] {
		return method
	}
	return unknownMethod
}

// handle processes one delivery to the end: ack, nack or dead-letter.
func (s *Server) handle(d driver.Delivery) {
	req, err := wire.DecodeRequest(d.Body)
	if err != nil {
		s.deadLetter(d, unknownMethod, fmt.Sprintf("undecodable message: %v", err))
		return
	}
	key := req.UniqueID
	if key == "" {
		sum := sha256.Sum256(d.Body)
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	label := s.label(req.Method)
	for {
		dup, wait := s.dedup.begin(key)
		if dup {
			s.t.metrics.handled.WithLabelValues(label, outcomeDuplicate).Inc()
			s.log.Debug("rpcsvc: duplicate message dropped", "method", req.Method, "unique_id", req.UniqueID)
			_ = d.Ack()
			return
		}
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-s.handlerCtx.Done():
			_ = d.Nack(true)
			return
		}
	}

	rc := contextFromWire(req.Context)
	ctx := rc.traceContext(NewContext(s.handlerCtx, rc))
	m, lookupErr := s.disp.lookup(req)

	var stopKeepAlive func()
	if req.IsCall() && lookupErr == nil {
		stopKeepAlive = s.keepAlive(req)
	}
	var result []byte
	var herr error
	if lookupErr != nil {
		herr = lookupErr
	} else {
		s.t.metrics.inflight.Inc()
		start := time.Now()
		result, herr = s.disp.invoke(ctx, m, req)
		s.t.metrics.handlerDur.WithLabelValues(label).Observe(time.Since(start).Seconds())
		s.t.metrics.inflight.Dec()
	}
	if stopKeepAlive != nil {
		stopKeepAlive()
	}
	pe, panicked := asPanic(herr)

	if req.IsCall() {
		// Counted before replying, so a caller that got its reply sees it.
		s.count(label, herr)
		s.reply(req, result, herr, pe)
		s.dedup.finish(key, true)
		_ = d.Ack()
		if herr != nil {
			s.log.Info("rpcsvc: call failed; replied the failure", "method", req.Method, "request_id", rc.RequestID, "error", herr)
		}
		return
	}

	switch {
	case herr == nil:
		s.dedup.finish(key, true)
		_ = d.Ack()
		s.t.metrics.handled.WithLabelValues(label, outcomeSuccess).Inc()
	case panicked || IsRetryable(herr):
		attempts := s.dedup.finish(key, false)
		if attempts >= s.t.opts.MaxDeliveryAttempts {
			s.deadLetter(d, label, fmt.Sprintf("cast %q failed %d times, last: %v", req.Method, attempts, herr))
			s.dedup.finish(key, true)
			return
		}
		s.log.Warn("rpcsvc: cast failed, redelivering", "method", req.Method, "attempt", attempts, "max_attempts", s.t.opts.MaxDeliveryAttempts, "request_id", rc.RequestID, "error", herr)
		s.t.metrics.handled.WithLabelValues(label, outcomeRetried).Inc()
		_ = d.Nack(true)
	default:
		// oslo's semantics: a cast's error is logged and the message dropped.
		s.dedup.finish(key, true)
		_ = d.Ack()
		s.count(label, herr)
		s.log.Warn("rpcsvc: cast failed; dropped", "method", req.Method, "request_id", rc.RequestID, "error", herr)
	}
}

func (s *Server) count(label string, herr error) {
	outcome := outcomeSuccess
	switch {
	case herr == nil:
	case isRejection(herr):
		outcome = outcomeRejected
	default:
		outcome = outcomeFailure
	}
	s.t.metrics.handled.WithLabelValues(label, outcome).Inc()
}

// deadLetter moves d to `<queue>.dlq` and acks it; if that fails the message
// is requeued (it is never dropped).
func (s *Server) deadLetter(d driver.Delivery, label, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.handlerCtx), 30*time.Second)
	defer cancel()
	dlq := driver.DLQName(d.Queue)
	if err := s.t.retry(ctx, "dead-letter to "+dlq, func() error { return s.t.drv.DeadLetter(ctx, d.Queue, d.Body, reason) }); err != nil {
		s.log.Error("rpcsvc: could not dead-letter a message; returning it to its queue", "queue", d.Queue, "dead_letter_queue", dlq, "reason", reason, "error", err)
		_ = d.Nack(true)
		return
	}
	_ = d.Ack()
	s.t.metrics.handled.WithLabelValues(label, outcomeDeadLettered).Inc()
	s.log.Warn("rpcsvc: message dead-lettered", "queue", d.Queue, "dead_letter_queue", dlq, "reason", reason, "body", clipBody(d.Body))
}

// keepAlive sends keep-alive replies every _timeout/2 while a call runs, when
// _timeout is an integer (as oslo does). It returns the stop function. The
// replies are sent from a timer's function, so a call that ends before the
// first is due (nearly all of them) costs a timer and no goroutine.
func (s *Server) keepAlive(req *wire.Request) func() {
	secs, integer, ok := req.TimeoutSeconds()
	if !ok || !integer {
		return nil
	}
	every := time.Duration(secs * float64(time.Second) / 2)
	if every <= 0 {
		return nil
	}
	ka := &keepAliver{s: s, req: req, every: every}
	ka.mu.Lock()
	ka.timer = time.AfterFunc(every, ka.send)
	ka.mu.Unlock()
	return ka.stop
}

// keepAliver is one call's keep-alive timer.
type keepAliver struct {
	s     *Server
	req   *wire.Request
	every time.Duration

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	sending sync.WaitGroup // a send under way: stop waits for it
}

// send publishes one keep-alive and re-arms the timer, unless stopped.
func (ka *keepAliver) send() {
	ka.mu.Lock()
	if ka.stopped || ka.s.handlerCtx.Err() != nil {
		ka.mu.Unlock()
		return
	}
	ka.sending.Add(1)
	ka.mu.Unlock()
	defer ka.sending.Done()
	s, req := ka.s, ka.req
	body, err := wire.EncodeReply(&wire.Reply{MsgID: req.MsgID, UniqueID: hexUUID()})
	if err == nil {
		ctx, cancel := context.WithTimeout(s.handlerCtx, ka.every)
		err = s.t.publish(ctx, driver.Publishing{RoutingKey: req.ReplyQ, Body: body, Mandatory: true})
		cancel()
	}
	if err != nil {
		s.log.Warn("rpcsvc: keep-alive reply failed", "method", req.Method, "msg_id", req.MsgID, "error", err)
	}
	ka.mu.Lock()
	if !ka.stopped {
		ka.timer.Reset(ka.every)
	}
	ka.mu.Unlock()
}

// stop ends the keep-alives; it returns once none is being sent, so that no
// keep-alive follows the call's reply.
func (ka *keepAliver) stop() {
	ka.mu.Lock()
	ka.stopped = true
	ka.timer.Stop()
	ka.mu.Unlock()
	ka.sending.Wait()
}

// reply publishes the result or failure of a call. Publishing is retried
// until the caller's timeout would have passed.
func (s *Server) reply(req *wire.Request, result []byte, herr error, pe *panicError) {
	r := &wire.Reply{MsgID: req.MsgID, UniqueID: hexUUID(), Ending: true}
	if herr != nil {
		var tb []string
		if pe != nil {
			tb = pe.stack
		}
		r.Failure = failureOf(herr, tb)
	} else {
		r.Result = result
	}
	body, err := wire.EncodeReply(r)
	if err != nil {
		// A result that cannot be encoded is the handler's failure.
		r.Result, r.Failure = nil, failureOf(err, nil)
		body, err = wire.EncodeReply(r)
		if err != nil {
			s.log.Error("rpcsvc: cannot encode a reply", "method", req.Method, "msg_id", req.MsgID, "error", err)
			return
		}
	}
	timeout := s.t.opts.ResponseTimeout
	if secs, _, ok := req.TimeoutSeconds(); ok {
		timeout = time.Duration(secs * float64(time.Second))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.handlerCtx), timeout)
	defer cancel()
	if err := s.t.publish(ctx, driver.Publishing{RoutingKey: req.ReplyQ, Body: body, Mandatory: true}); err != nil {
		s.log.Warn("rpcsvc: could not send a reply; the caller will time out", "method", req.Method, "msg_id", req.MsgID, "reply_queue", req.ReplyQ, "error", err)
	}
}

// asPanic returns herr as a *panicError (a function of its own: errors.As's
// target escapes, and only a failed handler should pay for it).
func asPanic(herr error) (*panicError, bool) {
	if herr == nil {
		return nil, false
	}
	var pe *panicError
	ok := errors.As(herr, &pe)
	return pe, ok
}
