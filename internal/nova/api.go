package nova

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gonova/gonova/internal/api"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/auth/keystone"
)

// NewAPIService builds the compute API's WSGIService: the router on
// osapi_compute_listen:osapi_compute_listen_port with /healthcheck and
// /metrics beside it, and the API's own services row (binary
// nova-osapi_compute, no topic, no heartbeats) recorded once it listens.
func (a *App) NewAPIService(compute api.ComputeAPI) (*wsgi.Service, error) {
	c := a.Cfg
	var authn auth.Authenticator
	switch c.API.AuthStrategy {
	case "noauth2":
		authn = auth.NoAuth{}
	case "keystone":
		o := keystone.OptionsFromConfig(c.KeystoneAuthtoken)
		o.Logger = a.Log
		if a.Metrics != nil {
			o.Registerer = a.Metrics
		}
		ka, err := keystone.New(o)
		if err != nil {
			return nil, &app.Error{Code: app.ExitConfig, Err: fmt.Errorf("[api] auth_strategy = keystone: %w", err)}
		}
		authn = ka
	default:
		return nil, &app.Error{Code: app.ExitConfig, Err: fmt.Errorf("[api] auth_strategy = %q is not supported: set keystone or noauth2 (development)", c.API.AuthStrategy)}
	}
	router, err := api.NewRouter(api.Deps{
		Services:        a.Services,
		Compute:         a.Compute,
		ComputeAPI:      compute,
		ServiceDownTime: a.ServiceDownTime(),
		Auth:            authn,
		Logger:          a.Log,
		Registerer:      a.Metrics,
		MaxBody:         c.Middleware.MaxRequestBodySize,
		RPCTimeout:      c.Default.RPCResponseTimeout,
	})
	if err != nil {
		return nil, err
	}
	health := a.HealthHandler()
	mux := http.NewServeMux()
	mux.Handle("/healthcheck", health)
	mux.Handle("/metrics", health)
	mux.Handle("/", router)

	return wsgi.New(wsgi.Options{
		Name:               "osapi_compute",
		Host:               c.Default.OsapiComputeListen,
		Port:               portOrFree(c.Default.OsapiComputeListenPort),
		Handler:            mux,
		MaxRequestBodySize: c.Middleware.MaxRequestBodySize,
		Listen: func(network, addr string) (net.Listener, error) {
			return launcher.Listen("osapi_compute", network, addr)
		},
		OnStarted: a.recordAPIRow,
		Logger:    a.Log,
	})
}

// NewAPIListener is the API's WSGIService in the parent of API workers: it
// only binds the shared port (the launcher never starts it there), so the
// parent needs neither the database nor the broker.
func (a *App) NewAPIListener() (*wsgi.Service, error) {
	c := a.Cfg
	return wsgi.New(wsgi.Options{
		Name:    "osapi_compute",
		Host:    c.Default.OsapiComputeListen,
		Port:    portOrFree(c.Default.OsapiComputeListenPort),
		Handler: http.NotFoundHandler(),
		Listen: func(network, addr string) (net.Listener, error) {
			return launcher.Listen("osapi_compute", network, addr)
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
