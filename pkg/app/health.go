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
// as oslo.middleware's healthcheck answers, with the failed checks named) and
// GET /metrics: what a listener of its own on loopback serves.
func (a *App) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{Registry: a.Metrics}))
	check := a.Healthcheck(nil)
	mux.Handle("GET /healthcheck", check)
	mux.Handle("HEAD /healthcheck", check)
	return mux
}

// Healthcheck is /healthcheck alone, for a public port. detail decides who
// may see which checks failed ([-]name failed: why) and the ?verbose list;
// others get only "OK" or a bare 503, so an anonymous client learns nothing
// about the service's insides. A nil detail shows it to everyone (for a
// loopback listener).
//
//	mux.Handle("/healthcheck", a.Healthcheck(isAdmin))
func (a *App) Healthcheck(detail func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		show := detail == nil || detail(r)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !a.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			if show {
				fmt.Fprintln(w, "[-]started failed: start-up has not finished, or shutdown has begun")
			}
			return
		}
		if show && r.URL.Query().Has("verbose") {
			fmt.Fprintln(w, "[+]started ok")
		}
		fmt.Fprint(w, "OK")
	})
}

// NewHealthService is a small listener of its own on addr (nova-compute's
// [gonova] metrics_listen) for /metrics and /healthcheck, as a wsgi.Service:
// it binds before anything reports ready, so a port in use fails start-up,
// and a service that lists it first has it stopped last, so probes answer
// throughout. Port 0 binds any free port (see Addr).
func (a *App) NewHealthService(addr string) (*wsgi.Service, error) {
	return a.newHealthService("health", addr, nil, a.HealthHandler())
}

func (a *App) newHealthService(name, addr string, listen func(network, addr string) (net.Listener, error), h http.Handler) (*wsgi.Service, error) {
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
		Name:              name,
		Host:              host,
		Port:              p,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		Listen:            listen,
		Logger:            a.Log,
	})
}
