package app

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gonova/gonova/pkg/wsgi"
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

// NewHealthService is a small listener of its own on addr (nova-compute's
// [gonova] metrics_listen) for /metrics and /healthcheck, as a wsgi.Service:
// it binds before anything reports ready, so a port in use fails start-up,
// and a service that lists it first has it stopped last, so probes answer
// throughout. Port 0 binds any free port (see Addr).
func (a *App) NewHealthService(addr string) (*wsgi.Service, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &Error{Code: ExitConfig, Err: fmt.Errorf("[gonova] metrics_listen = %q: want host:port: %w", addr, err)}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, &Error{Code: ExitConfig, Err: fmt.Errorf("[gonova] metrics_listen = %q: port %q is not a number from 0 to 65535", addr, port)}
	}
	if p == 0 {
		p = -1 // wsgi: any free port
	}
	return wsgi.New(wsgi.Options{
		Name:              "health",
		Host:              host,
		Port:              p,
		Handler:           a.HealthHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		Logger:            a.Log,
	})
}
