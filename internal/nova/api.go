package nova

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gonova/gonova/internal/api"
	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// apiServiceName is the compute API's WSGIService name (nova's
// "osapi_compute"): its listener's name and the option prefix of its
// address, port and workers.
const apiServiceName = "osapi_compute"

// NewAPIService builds the compute API's WSGIService: nova's compute.API
// (internal/compute/api) over the stores and rpc, the router on
// osapi_compute_listen:osapi_compute_listen_port with /healthcheck beside it
// (its detail for admins only: the port is public), and the API's own
// services row (binary nova-osapi_compute, no topic, no heartbeats) recorded
// once it listens. /metrics is served by NewAPIMetricsService, off this port.
func (a *App) NewAPIService(rpc computeapi.ComputeRPC) (*wsgi.Service, error) {
	c := a.Cfg
	var authn auth.Authenticator
	switch c.API.AuthStrategy {
	case "noauth2":
		authn = auth.NoAuth{}
	default:
		return nil, &app.Error{Code: app.ExitConfig, Err: fmt.Errorf("[api] auth_strategy = %q is not supported yet: gonova validates no Keystone tokens; set auth_strategy = noauth2 (development) or put a validating proxy in front", c.API.AuthStrategy)}
	}
	capi, err := a.newComputeAPI(rpc)
	if err != nil {
		return nil, err
	}
	router, err := api.NewRouter(api.Deps{
		Services:        a.Services,
		Compute:         a.Compute,
		ComputeAPI:      capi,
		ServiceDownTime: a.ServiceDownTime(),
		Auth:            authn,
		Logger:          a.Log,
		Registerer:      a.Metrics,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/healthcheck", a.Healthcheck(adminCaller(authn)))
	mux.Handle("/", router)

	return wsgi.New(wsgi.Options{
		Name:               apiServiceName,
		Host:               c.Default.OsapiComputeListen,
		Port:               portOrFree(c.Default.OsapiComputeListenPort),
		Handler:            mux,
		MaxRequestBodySize: c.Middleware.MaxRequestBodySize,
		Listen: func(network, addr string) (net.Listener, error) {
			return launcher.Listen(apiServiceName, network, addr)
		},
		OnStarted: a.recordAPIRow,
		Logger:    a.Log,
	})
}

// newComputeAPI is nova's compute.API over the stores and rpc.
func (a *App) newComputeAPI(rpc computeapi.ComputeRPC) (*computeapi.API, error) {
	return computeapi.New(computeapi.Options{
		Services:        a.Services,
		Compute:         a.Compute,
		RPC:             rpc,
		ServiceDownTime: a.ServiceDownTime(),
		RPCTimeout:      a.Cfg.Default.RPCResponseTimeout,
		Logger:          a.Log,
	})
}

// NewAPIMetricsService is nova-api's own listener on [gonova]
// api_metrics_listen (loopback by default) for /metrics and the detailed
// /healthcheck, or nil when the option is empty. With API workers the parent
// serves it, and each scrape shows every worker's series
// (app.NewGroupMetricsService), so workers never fight over the port and no
// scrape reaches only one of them.
func (a *App) NewAPIMetricsService() (*wsgi.Service, error) {
	addr := a.Cfg.Gonova.APIMetricsListen
	if addr == "" {
		return nil, nil
	}
	return a.NewGroupMetricsService("osapi_compute_metrics", addr, a.Cfg.Default.OsapiComputeWorkers)
}

// adminCaller reports whether a request's token authenticates an admin: who
// may see which health checks failed on the public port.
func adminCaller(authn auth.Authenticator) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Header.Get(auth.HeaderAuthToken) == "" {
			return false
		}
		c, err := authn.Authenticate(r)
		return err == nil && c != nil && (c.IsAdmin || c.HasRole("admin"))
	}
}

// NewAPIListener is the API's WSGIService in the parent of API workers: it
// only binds the shared port (the launcher never starts it there), so the
// parent needs neither the database nor the broker.
func (a *App) NewAPIListener() (*wsgi.Service, error) {
	c := a.Cfg
	return wsgi.New(wsgi.Options{
		Name:    apiServiceName,
		Host:    c.Default.OsapiComputeListen,
		Port:    portOrFree(c.Default.OsapiComputeListenPort),
		Handler: http.NotFoundHandler(),
		Listen: func(network, addr string) (net.Listener, error) {
			return launcher.Listen(apiServiceName, network, addr)
		},
		Logger: a.Log,
	})
}

// portOrFree maps osapi_compute_listen_port = 0 to wsgi's "any free port".
func portOrFree(p int) int {
	if p == 0 {
		return -1
	}
	return p
}

// recordAPIRow finds or creates the API's services row, as nova's
// WSGIService does; it never heartbeats, and os-services hides it.
func (a *App) recordAPIRow(ctx context.Context) error {
	row, created, err := registry.FindOrCreate(ctx, a.Services, registry.NewService{
		Host: a.Cfg.Default.Host, Binary: APIBinary, Version: a.Version(),
	}, registry.CreateOptions{})
	if err != nil {
		return fmt.Errorf("recording the %s service row: %w", APIBinary, err)
	}
	if row.Version != a.Version() {
		v := a.Version()
		if _, err := a.Services.Update(ctx, row.ID, registry.Update{Version: &v}); err != nil && !errors.Is(err, registry.ErrNotFound) {
			return err
		}
	}
	a.Log.Info("API service row ready", "service_id", row.ID, "created", created)
	return nil
}
