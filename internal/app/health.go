package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthHandler serves GET /healthcheck (200 "OK" while ready, 503 otherwise,
// as oslo.middleware's healthcheck answers) and GET /metrics.
func (a *App) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{Registry: a.Metrics}))
	mux.HandleFunc("GET /healthcheck", a.healthcheck)
	mux.HandleFunc("HEAD /healthcheck", a.healthcheck)
	return mux
}

func (a *App) healthcheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !a.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "[-]started failed: start-up has not finished, or shutdown has begun")
		return
	}
	if r.URL.Query().Has("verbose") {
		fmt.Fprintln(w, "[+]started ok")
	}
	fmt.Fprint(w, "OK")
}

// HealthServer is nova-compute's own small HTTP listener ([gonova]
// metrics_listen) for /metrics and /healthcheck. It binds in Bind, so a port
// in use fails start-up before anything reports ready, and it is the first
// service started and the last stopped, so probes answer throughout.
type HealthServer struct {
	addr    string
	handler http.Handler

	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	err  error
}

// NewHealthServer returns a server for a's health handler on addr.
func (a *App) NewHealthServer(addr string) *HealthServer {
	return &HealthServer{addr: addr, handler: a.HealthHandler(), done: make(chan struct{})}
}

func (h *HealthServer) Name() string { return "health" }

// Bind opens the listener.
func (h *HealthServer) Bind(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return fmt.Errorf("[gonova] metrics_listen %s: %w", h.addr, err)
	}
	h.ln = ln
	return nil
}

// Addr is the bound address (after Bind).
func (h *HealthServer) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln == nil {
		return ""
	}
	return h.ln.Addr().String()
}

func (h *HealthServer) Start(ctx context.Context) error {
	if err := h.Bind(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	h.srv = &http.Server{Handler: h.handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	srv, ln := h.srv, h.ln
	h.mu.Unlock()
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		close(h.done)
	}()
	return nil
}

func (h *HealthServer) Stop(ctx context.Context) error {
	h.mu.Lock()
	srv := h.srv
	ln := h.ln
	h.mu.Unlock()
	if srv == nil {
		if ln != nil {
			return ln.Close()
		}
		return nil
	}
	return srv.Shutdown(ctx)
}

func (h *HealthServer) Wait(ctx context.Context) error {
	select {
	case <-h.done:
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *HealthServer) Reset(context.Context) error { return nil }
