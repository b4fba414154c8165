package wsgi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

// Defaults of Options. nova has no request timeouts of its own (eventlet had
// client_socket_timeout = 900 s for idle connections); these bound slow
// clients without cutting off requests that wait on a compute (an RPC call
// waits up to rpc_response_timeout, 60 s).
const (
	DefaultHost               = "0.0.0.0"
	DefaultPort               = 8774
	DefaultReadHeaderTimeout  = 30 * time.Second
	DefaultReadTimeout        = 120 * time.Second
	DefaultWriteTimeout       = 180 * time.Second
	DefaultIdleTimeout        = 900 * time.Second
	DefaultMaxRequestBodySize = 114688
	DefaultMaxHeaderBytes     = 64 << 10
)

// Options configures a Service. Zero fields take the defaults above.
type Options struct {
	// Name names the service in logs, for example "osapi_compute". Required.
	Name string
	// Host is the address to bind: osapi_compute_listen. Default "0.0.0.0".
	Host string
	// Port is the port to bind: osapi_compute_listen_port. Default 8774; a
	// negative value binds any free port (tests).
	Port int
	// Handler serves the requests. Required.
	Handler http.Handler
	// Listen opens the listener; default net.Listen. A multi-worker launcher
	// passes one that returns the socket shared by its workers.
	Listen func(network, addr string) (net.Listener, error)
	// ReadHeaderTimeout bounds reading a request's headers. Default 30 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 120 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response. Default 180 s.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long: nova's
	// [wsgi] client_socket_timeout. Default 900 s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers. Default 64 KiB (nova's
	// max_header_line is 16 KiB for one line).
	MaxHeaderBytes int
	// MaxRequestBodySize caps request bodies: [oslo_middleware]
	// max_request_body_size. Default 114688 bytes; negative means no cap.
	// This is the only place the cap is configured: handlers and routers
	// served here do not cap bodies again (see middleware.MaxRequestBody).
	MaxRequestBodySize int64
	// OnStarted runs after the listener is bound and serving, before Start
	// returns; an error undoes the start. nova-api records its service row
	// (binary nova-osapi_compute, topic NULL) here.
	OnStarted func(ctx context.Context) error
	// OnReset runs on Reset (SIGHUP), for example to reload policy.
	OnReset func(ctx context.Context) error
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
}

// Service is an HTTP service with a launcher's life cycle. Create it with New.
type Service struct {
	opts   Options
	logger *slog.Logger

	mu       sync.Mutex
	started  bool
	srv      *http.Server
	addr     net.Addr
	bound    net.Listener  // from Bind, used by Start
	done     chan struct{} // closed when the serve loop has exited
	serveErr error
	stopping chan struct{} // closed when Stop begins
	stopDone chan struct{} // closed when Stop has closed every connection
	stopErr  error

	handlers   activeCount
	baseCtx    context.Context
	cancelBase context.CancelFunc
	stopOnce   sync.Once
}

// New validates opts and returns a Service that is not yet listening.
func New(opts Options) (*Service, error) {
	if opts.Name == "" {
		return nil, errors.New("wsgi: Options.Name is required")
	}
	if opts.Handler == nil {
		return nil, errors.New("wsgi: Options.Handler is required")
	}
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	switch {
	case opts.Port == 0:
		opts.Port = DefaultPort
	case opts.Port < 0:
		opts.Port = 0
	case opts.Port > 65535:
		return nil, fmt.Errorf("wsgi: port %d out of range", opts.Port)
	}
	if opts.Listen == nil {
		opts.Listen = net.Listen
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&opts.ReadTimeout, DefaultReadTimeout)
	def(&opts.WriteTimeout, DefaultWriteTimeout)
	def(&opts.IdleTimeout, DefaultIdleTimeout)
	if opts.MaxHeaderBytes == 0 {
		opts.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if opts.MaxRequestBodySize == 0 {
		opts.MaxRequestBodySize = DefaultMaxRequestBodySize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts, logger: opts.Logger.With("service", opts.Name)}, nil
}

// Name returns Options.Name.
func (s *Service) Name() string { return s.opts.Name }

// Addr returns the bound address, or nil before Start.
func (s *Service) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Start binds the listener, starts serving and runs OnStarted. It returns
// only once the port is bound: a port in use is Start's error. A failing
// OnStarted stops the server again and is returned. A Service starts once.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return fmt.Errorf("wsgi: %s: already started", s.opts.Name)
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("wsgi: %s: start: %w", s.opts.Name, err)
	}
	l := s.bound
	if l == nil {
		var err error
		if l, err = s.listen(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.started = true
	s.addr = l.Addr()
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           s.wrap(s.opts.Handler),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
	}
	s.done = make(chan struct{})
	s.stopping = make(chan struct{})
	s.stopDone = make(chan struct{})
	go s.serve(s.srv, l, s.done)
	s.mu.Unlock()
	s.logger.InfoContext(ctx, "listening", "addr", l.Addr().String())

	if s.opts.OnStarted != nil {
		if err := s.opts.OnStarted(ctx); err != nil {
			s.halt(context.Background(), true)
			return fmt.Errorf("wsgi: %s: start hook: %w", s.opts.Name, err)
		}
	}
	return nil
}

// Bind opens the listener without serving yet. The launcher calls it before
// starting anything (and, in a multi-worker parent, instead of Start), so a
// port in use fails the process before it reports ready. Start binds by
// itself when Bind was not called.
func (s *Service) Bind(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound != nil || s.started {
		return nil
	}
	l, err := s.listen()
	if err != nil {
		return err
	}
	s.bound = l
	s.addr = l.Addr()
	return nil
}

// listen opens the listener; s.mu is held.
func (s *Service) listen() (net.Listener, error) {
	addr := net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
	l, err := s.opts.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("wsgi: %s: listen on %s: %w", s.opts.Name, addr, err)
	}
	return l, nil
}

func (s *Service) serve(srv *http.Server, l net.Listener, done chan struct{}) {
	defer close(done)
	err := srv.Serve(l)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.logger.Error("serve loop failed", "error", err)
		s.mu.Lock()
		s.serveErr = err
		s.mu.Unlock()
	}
}

// wrap counts running handlers (for Wait) and caps request bodies: the one
// place [oslo_middleware] max_request_body_size applies.
func (s *Service) wrap(h http.Handler) http.Handler {
	h = middleware.MaxRequestBody(s.opts.MaxRequestBodySize)(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.add()
		defer s.handlers.done()
		h.ServeHTTP(w, r)
	})
}

// Stop stops gracefully: the listener closes at once, so new connections are
// refused; requests in flight may finish until ctx is done; then every
// connection is closed and the contexts of handlers still running are
// cancelled, and Stop returns an error wrapping ctx.Err(). A ctx without a
// deadline waits for every request (graceful_shutdown_timeout = 0). Stop
// before Start does nothing; a second Stop waits for the first and returns
// its result.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		s.mu.Lock()
		l := s.bound
		s.bound = nil
		s.mu.Unlock()
		if l != nil {
			return l.Close()
		}
		return nil
	}
	return s.halt(ctx, false)
}

func (s *Service) halt(ctx context.Context, force bool) error {
	s.stopOnce.Do(func() {
		close(s.stopping)
		defer close(s.stopDone)
		if force {
			_ = s.srv.Close()
		} else {
			s.logger.InfoContext(ctx, "stopping")
			if err := s.srv.Shutdown(ctx); err != nil {
				s.logger.WarnContext(ctx, "graceful stop timed out; closing connections", "error", err)
				_ = s.srv.Close()
				s.stopErr = fmt.Errorf("wsgi: %s: graceful stop: %w", s.opts.Name, err)
			}
		}
		s.cancelBase()
		<-s.done
	})
	<-s.stopDone
	return s.stopErr
}

// Wait blocks until the service has stopped serving and every handler has
// returned, or until ctx ends. It returns at once for a Service that was never
// started. Its error is the serve loop's, if it failed other than by Stop.
// Wait starts no goroutine: a Wait given up by its ctx leaves nothing behind.
func (s *Service) Wait(ctx context.Context) error {
	if err := s.waitStopped(ctx); err != nil {
		return err
	}
	return s.Err()
}

// waitStopped waits for the serve loop to exit, for Stop to finish when it
// was a Stop, and for the handlers still running; it gives up when ctx ends.
func (s *Service) waitStopped(ctx context.Context) error {
	s.mu.Lock()
	done, stopping, stopDone := s.done, s.stopping, s.stopDone
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-stopping:
		select {
		case <-stopDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	default: // the serve loop failed by itself
	}
	return s.handlers.wait(ctx)
}

// Err returns the serve loop's error, if it failed other than by Stop.
func (s *Service) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveErr
}

// Reset is the SIGHUP hook: it runs Options.OnReset. The HTTP server keeps
// its listener and connections; nova's reset resized its eventlet pool, which
// has no equivalent here.
func (s *Service) Reset(ctx context.Context) error {
	s.logger.InfoContext(ctx, "reset")
	if s.opts.OnReset == nil {
		return nil
	}
	if err := s.opts.OnReset(ctx); err != nil {
		return fmt.Errorf("wsgi: %s: reset: %w", s.opts.Name, err)
	}
	return nil
}

// activeCount counts running handlers. Unlike a sync.WaitGroup, it may be
// waited on while handlers still start, as happens when Stop gave up on a
// connection that had just read a request.
type activeCount struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil while n == 0
}

func (a *activeCount) add() {
	a.mu.Lock()
	if a.n == 0 {
		a.zero = make(chan struct{})
	}
	a.n++
	a.mu.Unlock()
}

func (a *activeCount) done() {
	a.mu.Lock()
	a.n--
	if a.n == 0 {
		close(a.zero)
		a.zero = nil
	}
	a.mu.Unlock()
}

// wait returns once no handler runs, or ctx.Err() when ctx ends first.
func (a *activeCount) wait(ctx context.Context) error {
	for {
		a.mu.Lock()
		ch := a.zero
		a.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
