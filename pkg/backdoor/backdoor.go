package backdoor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"syscall"
	"time"
)

// Options configures a [Server].
type Options struct {
	// Port is where to listen on 127.0.0.1.
	Port Port
	// Report serves GET /report, typically a *gmr.Reporter. Nil: 404.
	Report http.Handler
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Optional makes a port already in use a warning instead of a start-up
	// failure: the server then runs without a listener until stopped. Worker
	// processes of one service set it, so that a worker which finds the
	// port (or every port of the range) taken by a sibling runs on instead
	// of dying and being respawned for ever. Give a range with a port per
	// worker (backdoor_port = start:end) for a backdoor in each.
	Optional bool
}

// Server is the backdoor debug endpoint. Start binds and serves; Stop shuts
// it down. A Server runs once.
//
//	p, err := backdoor.ParsePort(cfg.BackdoorPort)
//	if err != nil { return err }
//	bd := backdoor.New(backdoor.Options{Port: p, Report: reporter})
//	services = append(services, bd) // a launcher.Service
type Server struct {
	opts Options
	srv  *http.Server

	mu   sync.Mutex
	addr *net.TCPAddr
	done chan struct{}
	err  error

	idle     bool // Optional and the port was taken: nothing to serve
	idleOnce sync.Once
}

// New returns a Server that has not bound yet.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, done: make(chan struct{})}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Handler returns the routes without a listener, for tests or for mounting
// elsewhere.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "gonova backdoor\n\n/report        Guru Meditation Report\n/debug/pprof/  profiles")
	})
	if s.opts.Report != nil {
		mux.Handle("/report", s.opts.Report)
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Name is "backdoor".
func (s *Server) Name() string { return "backdoor" }

// Start binds the port (an error if it is in use) and serves in the
// background.
func (s *Server) Start(context.Context) error {
	l, err := Listen(s.opts.Port)
	if err != nil {
		if s.opts.Optional && errors.Is(err, syscall.EADDRINUSE) {
			s.opts.Logger.Warn("backdoor_port taken by another process of this service; this one runs without a backdoor (give start:end with a port per worker)",
				"backdoor_port", s.opts.Port.String())
			s.mu.Lock()
			s.idle = true
			s.mu.Unlock()
			return nil
		}
		return err
	}
	s.mu.Lock()
	s.addr = l.Addr().(*net.TCPAddr)
	s.mu.Unlock()
	s.opts.Logger.Info("backdoor listening", "addr", l.Addr().String())
	go func() {
		defer close(s.done)
		err := s.srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else {
			s.opts.Logger.Error("backdoor failed", "err", err)
		}
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}()
	return nil
}

// Stop stops accepting and waits for open requests (a CPU profile may take
// its full duration) until ctx ends, then closes the rest.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	if idle {
		s.idleOnce.Do(func() { close(s.done) })
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

// Wait blocks until the server has stopped or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reset does nothing: the backdoor has no configuration to reload.
func (s *Server) Reset(context.Context) error { return nil }

// Port returns the bound port, or 0 before Start.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == nil {
		return 0
	}
	return s.addr.Port
}
