package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/policies"
	"github.com/gonova/gonova/internal/quota"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// DefaultMaxLimit is nova's [api] max_limit: the largest page. It is the
// default of Deps.MaxLimit.
const DefaultMaxLimit = 1000

// Deps is what the router needs. Services, Compute, ComputeAPI and Auth are
// required.
type Deps struct {
	// Services is the service registry (os-services, os-hypervisors).
	Services registry.Store
	// Compute holds compute_nodes (os-hypervisors, and the nodes of a
	// deleted compute service).
	Compute computedb.Store
	// ComputeAPI is nova's compute.API: the servers routes go through it.
	ComputeAPI *computeapi.API
	// ServiceDownTime is the effective service_down_time
	// (servicegroup.EffectiveServiceDownTime) by which os-services and
	// os-hypervisors show a service up or down. Default: ComputeAPI's.
	ServiceDownTime time.Duration
	// Auth authenticates API requests (auth.NoAuth{} for noauth2).
	Auth auth.Authenticator
	// Logger receives logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the HTTP request metrics.
	Registerer prometheus.Registerer
	// MaxMicroversion is the highest microversion served. Default
	// microversion.DefaultMax (2.53).
	MaxMicroversion microversion.Version
	// Flavors is the flavor catalogue. Default DefaultFlavors.
	Flavors []Flavor
	// MaxLimit is the largest page of a list. Default 1000.
	MaxLimit int
	// Policy decides every action (oslo.policy's enforcer). Default:
	// nova's default rules (internal/policies) without a policy file;
	// nova-api builds it from [oslo_policy] (policies.Options) and reloads
	// it on SIGHUP.
	Policy *policy.Enforcer
}

// handlers holds the resolved dependencies of every handler.
type handlers struct {
	services   registry.Store
	compute    computedb.Store
	capi       *computeapi.API
	downTime   time.Duration
	log        *slog.Logger
	enf        *policy.Enforcer
	flavors    flavorCatalog
	maxLimit   int
	minV, maxV microversion.Version
	quotas     *quota.Quotas
}

// Policy action names, nova's. Each route checks its action where nova's
// controller does, with nova's target.
const (
	polServicesList      = "os_compute_api:os-services:list"
	polServicesUpdate    = "os_compute_api:os-services:update"
	polServicesDelete    = "os_compute_api:os-services:delete"
	polHypervisorsList   = "os_compute_api:os-hypervisors:list"
	polHypervisorsDet    = "os_compute_api:os-hypervisors:list-detail"
	polHypervisorsShow   = "os_compute_api:os-hypervisors:show"
	polServersIndex      = "os_compute_api:servers:index"
	polServersDetail     = "os_compute_api:servers:detail"
	polServersAllIndex   = "os_compute_api:servers:index:get_all_tenants"
	polServersAllDetail  = "os_compute_api:servers:detail:get_all_tenants"
	polServersShow       = "os_compute_api:servers:show"
	polServersCreate     = "os_compute_api:servers:create"
	polServersDelete     = "os_compute_api:servers:delete"
	polServersReboot     = "os_compute_api:servers:reboot"
	polConsoleOutput     = "os_compute_api:os-console-output"
	polExtendedAttrs     = "os_compute_api:os-extended-server-attributes"
	polHostStatus        = "os_compute_api:servers:show:host_status"
	polHostStatusUnknown = "os_compute_api:servers:show:host_status:unknown-only"
)

// defaultEnforcer is Deps.Policy's default: nova's default rules
// (internal/policies), no policy file.
func defaultEnforcer(logger *slog.Logger) (*policy.Enforcer, error) {
	return policy.NewEnforcer(policy.Options{Defaults: policies.Defaults(), Checks: policies.Checks(), Logger: logger})
}

// NewRouter returns the compute API: the version documents (public) and the
// /v2.1 routes behind deps.Auth, the microversion negotiation and
// deps.Policy (each route checks nova's action on nova's target), all
// inside pkg/wsgi's middleware chain (request id, access log, metrics,
// panic recovery). /healthcheck and /metrics are not mounted here.
//
//	capi, err := computeapi.New(computeapi.Options{Services: reg, Compute: cdb, RPC: rpc})
//	enf, err := policy.NewEnforcer(policies.Options(conf, logger))
//	h, err := api.NewRouter(api.Deps{Services: reg, Compute: cdb, ComputeAPI: capi, Auth: auth.NoAuth{}, Policy: enf})
//	svc, err := wsgi.New(wsgi.Options{Name: "osapi_compute", Handler: h})
func NewRouter(d Deps) (http.Handler, error) {
	if d.Services == nil || d.Compute == nil || d.ComputeAPI == nil || d.Auth == nil {
		return nil, errors.New("api: Deps.Services, Compute, ComputeAPI and Auth are required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.ServiceDownTime <= 0 {
		d.ServiceDownTime = d.ComputeAPI.ServiceDownTime()
	}
	if d.MaxMicroversion.IsNull() {
		d.MaxMicroversion = microversion.DefaultMax
	}
	if d.Flavors == nil {
		d.Flavors = DefaultFlavors
	}
	if d.MaxLimit <= 0 {
		d.MaxLimit = DefaultMaxLimit
	}
	if d.Policy == nil {
		enf, err := defaultEnforcer(d.Logger)
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		d.Policy = enf
	}
	mv, err := microversion.New(microversion.Options{Max: d.MaxMicroversion})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	var metrics *middleware.Metrics
	if d.Registerer != nil {
		if metrics, err = middleware.NewMetrics(d.Registerer); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
	}
	h := &handlers{
		services: d.Services, compute: d.Compute, capi: d.ComputeAPI,
		downTime: d.ServiceDownTime, log: d.Logger, enf: d.Policy,
		flavors:  newFlavorCatalog(d.Flavors),
		maxLimit: d.MaxLimit, minV: mv.Min(), maxV: mv.Max(),
		quotas: d.ComputeAPI.Quotas(),
	}

	r := wsgi.NewRouter(wsgi.RouterOptions{Logger: d.Logger, Metrics: metrics})
	r.Use(faultLogger(d.Logger))
	r.Get("/", h.versions)
	r.Get("/v2.1", h.version)
	r.Get("/v2.1/", h.version)
	r.Group(func(r chi.Router) {
		r.Use(mv.Handler, auth.MiddlewareWithLogger(d.Auth, d.Logger), h.requestContext)
		// nova checks its operator APIs with the empty target: a rule naming
		// %(project_id)s refuses there rather than match the caller's project.
		none := policy.Target{}
		r.With(h.enf.RequireTarget(polServicesList, none)).Get("/v2.1/os-services", h.listServices)
		r.With(h.enf.RequireTarget(polServicesUpdate, none)).Put("/v2.1/os-services/{id}", h.updateService)
		r.With(h.enf.RequireTarget(polServicesDelete, none)).Delete("/v2.1/os-services/{id}", h.deleteService)

		r.With(h.enf.RequireTarget(polHypervisorsList, none)).Get("/v2.1/os-hypervisors", h.listHypervisors(false))
		r.With(h.enf.RequireTarget(polHypervisorsDet, none)).Get("/v2.1/os-hypervisors/detail", h.listHypervisors(true))
		r.With(h.enf.RequireTarget(polHypervisorsShow, none)).Get("/v2.1/os-hypervisors/{id}", h.showHypervisor)

		// nova checks no policy on flavors: every authenticated caller
		// lists and shows them.
		r.Get("/v2.1/flavors", h.listFlavors(false))
		r.Get("/v2.1/flavors/detail", h.listFlavors(true))
		r.Get("/v2.1/flavors/{id}", h.showFlavor)

		// The servers handlers check their policy where nova's do: index
		// and detail once the query is valid, on the caller's own project;
		// create once the body is valid, on the caller's project; the
		// routes of one server on the instance, once it is found.
		r.Get("/v2.1/servers", h.listServers(false))
		r.Get("/v2.1/servers/detail", h.listServers(true))
		r.Post("/v2.1/servers", h.createServer)
		r.Get("/v2.1/servers/{id}", h.showServer)
		r.Delete("/v2.1/servers/{id}", h.deleteServer)
		r.Post("/v2.1/servers/{id}/action", h.serverAction)

		// Quotas, limits, usage and server groups check their policies in
		// the handlers, on nova's targets, after the body and query are
		// valid.
		r.Get("/v2.1/os-quota-sets/{id}", h.showQuotaSet)
		r.Put("/v2.1/os-quota-sets/{id}", h.updateQuotaSet)
		r.Delete("/v2.1/os-quota-sets/{id}", h.deleteQuotaSet)
		r.Get("/v2.1/os-quota-sets/{id}/defaults", h.quotaSetDefaults)
		r.Get("/v2.1/os-quota-sets/{id}/detail", h.quotaSetDetail)
		r.Get("/v2.1/os-quota-class-sets/{id}", h.showQuotaClass)
		r.Put("/v2.1/os-quota-class-sets/{id}", h.updateQuotaClass)
		r.Get("/v2.1/limits", h.showLimits)
		r.Get("/v2.1/os-simple-tenant-usage", h.listTenantUsage)
		r.Get("/v2.1/os-simple-tenant-usage/{id}", h.showTenantUsage)
		r.Get("/v2.1/os-server-groups", h.listServerGroups)
		r.Post("/v2.1/os-server-groups", h.createServerGroup)
		r.Get("/v2.1/os-server-groups/{id}", h.showServerGroup)
		r.Delete("/v2.1/os-server-groups/{id}", h.deleteServerGroup)
	})
	return r, nil
}

// requestContext completes the caller as nova's RequestContext does: a
// caller the authenticator did not make an admin is one when the policy's
// context_is_admin allows it (nova's check_is_admin), not by a role of its
// own. is_admin then decides what the caller sees (every project's servers)
// and what the deprecated "is_admin:True" rules allow. noauth2's admin has
// is_admin from the authenticator, as in nova.
func (h *handlers) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := auth.FromContext(r.Context()); ok && !c.IsAdmin && h.enf.IsAdmin(c) {
			admin := *c // the authenticator's value stays as it made it
			admin.IsAdmin = true
			r = r.WithContext(auth.NewContext(r.Context(), &admin))
		}
		next.ServeHTTP(w, r)
	})
}

// faultLogger makes fault.Write log to logger.
func faultLogger(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(fault.WithLogger(r.Context(), logger)))
		})
	}
}
