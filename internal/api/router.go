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
}

// Policy action names, nova's.
const (
	polServicesList     = "os_compute_api:os-services:list"
	polServicesUpdate   = "os_compute_api:os-services:update"
	polServicesDelete   = "os_compute_api:os-services:delete"
	polHypervisorsList  = "os_compute_api:os-hypervisors:list"
	polHypervisorsDet   = "os_compute_api:os-hypervisors:list-detail"
	polHypervisorsShow  = "os_compute_api:os-hypervisors:show"
	polFlavorsIndex     = "os_compute_api:flavors:index" // not in nova's policy: flavors are open to all
	polServersIndex     = "os_compute_api:servers:index"
	polServersDetail    = "os_compute_api:servers:detail"
	polServersAllIndex  = "os_compute_api:servers:index:get_all_tenants"
	polServersAllDetail = "os_compute_api:servers:detail:get_all_tenants"
	polServersShow      = "os_compute_api:servers:show"
	polServersCreate    = "os_compute_api:servers:create"
	polServersDelete    = "os_compute_api:servers:delete"
	polServersReboot    = "os_compute_api:servers:reboot"
	polConsoleOutput    = "os_compute_api:os-console-output"
	polExtendedAttrs    = "os_compute_api:os-extended-server-attributes"
	polHostStatus       = "os_compute_api:servers:show:host_status"
)

// rules are nova's defaults for the actions served: admin for the
// operator APIs, any authenticated caller (scoped to its project by the
// handlers) for servers and flavors.
var rules = map[string]policy.Rule{
	polServicesList: policy.Admin, polServicesUpdate: policy.Admin, polServicesDelete: policy.Admin,
	polHypervisorsList: policy.Admin, polHypervisorsDet: policy.Admin, polHypervisorsShow: policy.Admin,
	polFlavorsIndex: policy.Anyone,
	polServersIndex: policy.Anyone, polServersDetail: policy.Anyone, polServersShow: policy.Anyone,
	polServersCreate: policy.Anyone, polServersDelete: policy.Anyone, polServersReboot: policy.Anyone,
	polConsoleOutput:   policy.Anyone,
	polServersAllIndex: policy.Admin, polServersAllDetail: policy.Admin, polServersAllFilters: policy.Admin,
	polExtendedAttrs: policy.Admin, polHostStatus: policy.Admin,
}

// NewRouter returns the compute API: the version documents (public) and the
// /v2.1 routes behind deps.Auth, the microversion negotiation and nova's
// default policy, all inside pkg/wsgi's middleware chain (request id,
// access log, metrics, panic recovery). /healthcheck and /metrics are not
// mounted here.
//
//	capi, err := computeapi.New(computeapi.Options{Services: reg, Compute: cdb, RPC: rpc})
//	h, err := api.NewRouter(api.Deps{Services: reg, Compute: cdb, ComputeAPI: capi, Auth: auth.NoAuth{}})
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
		downTime: d.ServiceDownTime, log: d.Logger, enf: policy.NewWithLogger(rules, d.Logger),
		flavors:  newFlavorCatalog(d.Flavors),
		maxLimit: d.MaxLimit, minV: mv.Min(), maxV: mv.Max(),
	}

	r := wsgi.NewRouter(wsgi.RouterOptions{Logger: d.Logger, Metrics: metrics})
	r.Use(faultLogger(d.Logger))
	r.Get("/", h.versions)
	r.Get("/v2.1", h.version)
	r.Get("/v2.1/", h.version)
	r.Group(func(r chi.Router) {
		r.Use(mv.Handler, auth.MiddlewareWithLogger(d.Auth, d.Logger))
		r.With(h.enf.Require(polServicesList)).Get("/v2.1/os-services", h.listServices)
		r.With(h.enf.Require(polServicesUpdate)).Put("/v2.1/os-services/{id}", h.updateService)
		r.With(h.enf.Require(polServicesDelete)).Delete("/v2.1/os-services/{id}", h.deleteService)

		r.With(h.enf.Require(polHypervisorsList)).Get("/v2.1/os-hypervisors", h.listHypervisors(false))
		r.With(h.enf.Require(polHypervisorsDet)).Get("/v2.1/os-hypervisors/detail", h.listHypervisors(true))
		r.With(h.enf.Require(polHypervisorsShow)).Get("/v2.1/os-hypervisors/{id}", h.showHypervisor)

		r.With(h.enf.Require(polFlavorsIndex)).Get("/v2.1/flavors", h.listFlavors(false))
		r.With(h.enf.Require(polFlavorsIndex)).Get("/v2.1/flavors/detail", h.listFlavors(true))
		r.With(h.enf.Require(polFlavorsIndex)).Get("/v2.1/flavors/{id}", h.showFlavor)

		r.With(h.enf.Require(polServersIndex)).Get("/v2.1/servers", h.listServers(false))
		r.With(h.enf.Require(polServersDetail)).Get("/v2.1/servers/detail", h.listServers(true))
		r.With(h.enf.Require(polServersCreate)).Post("/v2.1/servers", h.createServer)
		r.With(h.enf.Require(polServersShow)).Get("/v2.1/servers/{id}", h.showServer)
		r.With(h.enf.Require(polServersDelete)).Delete("/v2.1/servers/{id}", h.deleteServer)
		r.Post("/v2.1/servers/{id}/action", h.serverAction)
	})
	return r, nil
}

// faultLogger makes fault.Write log to logger.
func faultLogger(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(fault.WithLogger(r.Context(), logger)))
		})
	}
}
