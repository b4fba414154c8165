package nova

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gonova/gonova/internal/api"
	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/internal/policies"
	"github.com/gonova/gonova/internal/quota"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/policy"
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
// It first checks that no nova-compute in the services table is older than
// this release supports (checkComputeVersions); with a ComputeClient under
// [upgrade_levels] compute = auto, the cap is chosen when the service starts
// and again on Reset (SIGHUP).
func (a *App) NewAPIService(rpc computeapi.ComputeRPC) (*wsgi.Service, error) {
	return a.newAPIService(rpc, func(network, addr string) (net.Listener, error) {
		return launcher.Listen(apiServiceName, network, addr)
	})
}

// newAPIService is NewAPIService listening with listen (a process takes
// launcher.Listen's "osapi_compute" once; tests listen on their own).
func (a *App) newAPIService(rpc computeapi.ComputeRPC, listen func(network, addr string) (net.Listener, error)) (*wsgi.Service, error) {
	c := a.Cfg
	authn, err := a.Authenticator()
	if err != nil {
		return nil, err
	}
	enf, err := a.newPolicy()
	if err != nil {
		return nil, err
	}
	if err := a.checkComputeVersions(); err != nil {
		return nil, err
	}
	capi, err := a.newComputeAPI(rpc)
	if err != nil {
		return nil, err
	}
	images, err := a.imageService()
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
		Policy:          enf,
		Images:          images,

		DefaultAvailabilityZone:         c.Default.DefaultAvailabilityZone,
		InternalServiceAvailabilityZone: c.Default.InternalServiceAvailabilityZone,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/healthcheck", a.Healthcheck(adminCaller(authn, enf)))
	mux.Handle("/", router)

	return wsgi.New(wsgi.Options{
		Name:               apiServiceName,
		Host:               c.Default.OsapiComputeListen,
		Port:               portOrFree(c.Default.OsapiComputeListenPort),
		Handler:            mux,
		MaxRequestBodySize: c.Middleware.MaxRequestBodySize,
		Listen:             listen,
		OnStarted:          a.apiStarted(rpc),
		// SIGHUP: re-read the policy file (Reload logs a file that does not
		// parse and keeps the rules in force) and choose the compute RPC
		// version cap again ([upgrade_levels] compute = auto).
		OnReset: func(ctx context.Context) error { return errors.Join(enf.Reload(), resetCap(ctx, rpc)) },
		Logger:  a.Log,
	})
}

// apiStarted is the API service's start hook: its services row, then the
// compute RPC version cap.
func (a *App) apiStarted(rpc computeapi.ComputeRPC) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := a.recordAPIRow(ctx); err != nil {
			return err
		}
		if a.Cfg.Gonova.DefaultFlavors {
			n, err := computedb.CreateDefaultFlavors(ctx, a.Compute)
			if err != nil {
				return fmt.Errorf("creating the default flavors ([gonova] default_flavors): %w", err)
			}
			if n > 0 {
				a.Log.Info("created the default flavors ([gonova] default_flavors)", "created", n)
			}
		}
		return resetCap(ctx, rpc)
	}
}

// resetCap chooses the compute RPC version cap of rpc again when it is a
// ComputeClient under [upgrade_levels] compute = auto: when the API starts
// (nova chooses at its first message; starting here logs the choice up
// front, after a nova-all's own compute recorded its version) and on SIGHUP.
func resetCap(ctx context.Context, rpc computeapi.ComputeRPC) error {
	r, ok := rpc.(interface{ Reset(context.Context) error })
	if !ok {
		return nil
	}
	return r.Reset(ctx)
}

// newComputeAPI is nova's compute.API over the stores and rpc.
func (a *App) newComputeAPI(rpc computeapi.ComputeRPC) (*computeapi.API, error) {
	notes, err := a.Notifications()
	if err != nil {
		return nil, err
	}
	return computeapi.New(computeapi.Options{
		Services:        a.Services,
		Compute:         a.Compute,
		RPC:             rpc,
		ServiceDownTime: a.ServiceDownTime(),
		RPCTimeout:      a.Cfg.Default.RPCResponseTimeout,
		Logger:          a.Log,
		Notifier:        notes.As(notifications.SourceAPI),

		DefaultAvailabilityZone: a.Cfg.Default.DefaultAvailabilityZone,
		Host:                    a.Cfg.Default.Host, // the host of the API's own action events (api_lock)
		Quotas:                  quota.New(a.Compute, quota.FromConfig(a.Cfg.Quota)),

		AllowResizeToSameHost: a.Cfg.Default.AllowResizeToSameHost,
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

// adminCaller reports whether a request's token authenticates an admin (its
// authenticator says so, or the policy's context_is_admin does, as for the
// API): who may see which health checks failed on the
// public port.
func adminCaller(authn auth.Authenticator, enf *policy.Enforcer) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Header.Get(auth.HeaderAuthToken) == "" {
			return false
		}
		c, err := authn.Authenticate(r)
		return err == nil && c != nil && (c.IsAdmin || enf.IsAdmin(c))
	}
}

// newPolicy is the API's policy enforcer: nova's defaults and
// [oslo_policy] (policy_file beside nova.conf by default). A file that does
// not parse is a configuration error: the service must not start on rules
// other than those its operator wrote. SIGHUP re-reads the file (OnReset).
func (a *App) newPolicy() (*policy.Enforcer, error) {
	enf, err := policy.NewEnforcer(policies.Options(a.Cfg, a.Log))
	if err != nil {
		return nil, &app.Error{Code: app.ExitConfig, Err: err}
	}
	if p := enf.PolicyFile(); p != "" {
		a.Log.Info("policy file read", "policy_file", p)
	}
	return enf, nil
}

// NewAPIListener is the API's WSGIService in the parent of API workers: it
// only binds the shared port (the launcher never starts it there), so the
// parent needs neither the database nor the broker. It reads the policy
// file once, so that one that does not parse stops the parent at once
// rather than every worker again and again.
func (a *App) NewAPIListener() (*wsgi.Service, error) {
	c := a.Cfg
	if _, err := a.newPolicy(); err != nil {
		return nil, err
	}
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
