package api

import (
	"context"
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
	// microversion.DefaultMax (2.93).
	MaxMicroversion microversion.Version
	// KeyPairLimit is how many key pairs the user may hold (nova's
	// [quota] key_pairs; < 0 is unlimited). Default: DefaultKeyPairLimit.
	KeyPairLimit func(ctx context.Context, userID string) int
	// MetadataItemsLimit is how many metadata items a server of the
	// project may have (nova's [quota] metadata_items; < 0 is unlimited).
	// Default: DefaultMetadataItemsLimit.
	MetadataItemsLimit func(ctx context.Context, projectID string) int
	// MaxLimit is the largest page of a list. Default 1000.
	MaxLimit int
	// Policy decides every action (oslo.policy's enforcer). Default:
	// nova's default rules (internal/policies) without a policy file;
	// nova-api builds it from [oslo_policy] (policies.Options) and reloads
	// it on SIGHUP.
	Policy *policy.Enforcer
	// Images is the image service a create (and rebuild) checks imageRef
	// against (Glance: *image.Client). Nil accepts any image id.
	Images ImageService
	// DefaultAvailabilityZone and InternalServiceAvailabilityZone are
	// nova's [DEFAULT] options of those names: the zone of a compute host
	// no aggregate puts in a zone, and of the other services. Defaults
	// "nova" and "internal".
	DefaultAvailabilityZone, InternalServiceAvailabilityZone string
}

// handlers holds the resolved dependencies of every handler.
type handlers struct {
	services   registry.Store
	compute    computedb.Store
	capi       *computeapi.API
	downTime   time.Duration
	log        *slog.Logger
	enf        *policy.Enforcer
	maxLimit   int
	minV, maxV microversion.Version
	images     ImageService

	defaultZone, internalZone string
	// keyPairLimitFn and metadataLimitFn are Deps' limits (nil: nova's
	// defaults).
	keyPairLimitFn  func(ctx context.Context, userID string) int
	metadataLimitFn func(ctx context.Context, projectID string) int
	quotas          *quota.Quotas
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

	polFlavorCreate       = "os_compute_api:os-flavor-manage:create"
	polFlavorUpdate       = "os_compute_api:os-flavor-manage:update"
	polFlavorDelete       = "os_compute_api:os-flavor-manage:delete"
	polFlavorSpecsIndex   = "os_compute_api:os-flavor-extra-specs:index"
	polFlavorSpecsShow    = "os_compute_api:os-flavor-extra-specs:show"
	polFlavorSpecsCreate  = "os_compute_api:os-flavor-extra-specs:create"
	polFlavorSpecsUpdate  = "os_compute_api:os-flavor-extra-specs:update"
	polFlavorSpecsDelete  = "os_compute_api:os-flavor-extra-specs:delete"
	polFlavorAccess       = "os_compute_api:os-flavor-access"
	polFlavorAccessAdd    = "os_compute_api:os-flavor-access:add_tenant_access"
	polFlavorAccessRemove = "os_compute_api:os-flavor-access:remove_tenant_access"
	polServerFlavorSpecs  = "os_compute_api:servers:show:flavor-extra-specs"
	polKeypairsIndex      = "os_compute_api:os-keypairs:index"
	polKeypairsShow       = "os_compute_api:os-keypairs:show"
	polKeypairsCreate     = "os_compute_api:os-keypairs:create"
	polKeypairsDelete     = "os_compute_api:os-keypairs:delete"
	polMetadataIndex      = "os_compute_api:server-metadata:index"
	polMetadataShow       = "os_compute_api:server-metadata:show"
	polMetadataCreate     = "os_compute_api:server-metadata:create"
	polMetadataUpdate     = "os_compute_api:server-metadata:update"
	polMetadataUpdateAll  = "os_compute_api:server-metadata:update_all"
	polMetadataDelete     = "os_compute_api:server-metadata:delete"
	polTagsIndex          = "os_compute_api:os-server-tags:index"
	polTagsShow           = "os_compute_api:os-server-tags:show"
	polTagsUpdate         = "os_compute_api:os-server-tags:update"
	polTagsUpdateAll      = "os_compute_api:os-server-tags:update_all"
	polTagsDelete         = "os_compute_api:os-server-tags:delete"
	polTagsDeleteAll      = "os_compute_api:os-server-tags:delete_all"
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
		maxLimit: d.MaxLimit, minV: mv.Min(), maxV: mv.Max(),
		defaultZone: d.DefaultAvailabilityZone, internalZone: d.InternalServiceAvailabilityZone,
		keyPairLimitFn: d.KeyPairLimit, metadataLimitFn: d.MetadataItemsLimit,
		quotas: d.ComputeAPI.Quotas(),
	}
	if h.defaultZone == "" {
		h.defaultZone = zoneCompute
	}
	if h.internalZone == "" {
		h.internalZone = zoneInternal
	}
	h.images = d.Images
	// The key pair and metadata limits are the [quota] ones, per project
	// and user as os-quota-sets sets them, unless Deps gives its own.
	if h.keyPairLimitFn == nil && h.quotas != nil {
		h.keyPairLimitFn = func(ctx context.Context, userID string) int {
			project := ""
			if c, ok := auth.FromContext(ctx); ok {
				project = c.ProjectID
			}
			n, err := h.quotas.Limit(ctx, project, userID, "key_pairs")
			if err != nil {
				return DefaultKeyPairLimit
			}
			return n
		}
	}
	if h.metadataLimitFn == nil && h.quotas != nil {
		h.metadataLimitFn = func(ctx context.Context, projectID string) int {
			n, err := h.quotas.Limit(ctx, projectID, "", "metadata_items")
			if err != nil {
				return DefaultMetadataItemsLimit
			}
			return n
		}
	}

	r := wsgi.NewRouter(wsgi.RouterOptions{Logger: d.Logger, Metrics: metrics})
	r.Use(faultLogger(d.Logger), legacyV2)
	r.Get("/", h.versions)
	r.Get("/v2", h.versionV20)
	r.Get("/v2/", h.versionV20)
	r.With(mv.Handler).Get("/v2.1", h.version)
	r.With(mv.Handler).Get("/v2.1/", h.version)
	r.Group(func(r chi.Router) {
		r.Use(mv.Handler, auth.MiddlewareWithLogger(d.Auth, d.Logger), h.requestContext)
		// nova checks its operator APIs with the empty target: a rule naming
		// %(project_id)s refuses there rather than match the caller's project.
		none := policy.Target{}
		r.With(h.enf.RequireTarget(polServicesList, none)).Get("/v2.1/os-services", h.listServices)
		r.With(h.enf.RequireTarget(polServicesUpdate, none)).Put("/v2.1/os-services/{id}", h.updateService)
		r.With(h.enf.RequireTarget(polServicesDelete, none)).Delete("/v2.1/os-services/{id}", h.deleteService)

		// The hypervisor lists and show check their policy once their
		// query is valid, as nova's; the routes nova retired answer 404
		// above their last version, before any policy check.
		r.Get("/v2.1/os-hypervisors", h.listHypervisors(false))
		r.Get("/v2.1/os-hypervisors/detail", h.listHypervisors(true))
		r.Get("/v2.1/os-hypervisors/statistics", untilV(2, 87, h.authorized(polHypervisorsStatistics, h.hypervisorStatistics)))
		r.Get("/v2.1/os-hypervisors/{id}", h.showHypervisor)
		r.Get("/v2.1/os-hypervisors/{id}/uptime", untilV(2, 87, h.authorized(polHypervisorsUptime, h.hypervisorUptime)))
		r.Get("/v2.1/os-hypervisors/{id}/search", untilV(2, 52, h.authorized(polHypervisorsSearch, h.searchHypervisors(false))))
		r.Get("/v2.1/os-hypervisors/{id}/servers", untilV(2, 52, h.authorized(polHypervisorsServers, h.searchHypervisors(true))))

		r.With(h.enf.RequireTarget(polAZList, none)).Get("/v2.1/os-availability-zone", h.listAvailabilityZones(false))
		r.With(h.enf.RequireTarget(polAZDetail, none)).Get("/v2.1/os-availability-zone/detail", h.listAvailabilityZones(true))

		// os-aggregates: the handlers check their policy where nova's do
		// (after the body's schema for create, update and the actions).
		r.With(h.enf.RequireTarget(polAggregatesIndex, none)).Get("/v2.1/os-aggregates", h.listAggregates)
		r.Post("/v2.1/os-aggregates", h.createAggregate)
		r.Get("/v2.1/os-aggregates/{id}", h.showAggregate)
		r.Put("/v2.1/os-aggregates/{id}", h.updateAggregate)
		r.Delete("/v2.1/os-aggregates/{id}", h.deleteAggregate)
		r.Post("/v2.1/os-aggregates/{id}/action", h.aggregateAction)

		// os-hosts, deprecated: served to 2.42 only.
		r.Get("/v2.1/os-hosts", untilV(2, 42, h.authorized(polHostsList, h.listHosts)))
		r.Get("/v2.1/os-hosts/{id}", untilV(2, 42, h.authorized(polHostsShow, h.showHost)))
		r.Put("/v2.1/os-hosts/{id}", untilV(2, 42, h.updateHost))
		r.Get("/v2.1/os-hosts/{id}/reboot", untilV(2, 42, h.authorized(polHostsReboot, h.hostPowerAction)))
		r.Get("/v2.1/os-hosts/{id}/shutdown", untilV(2, 42, h.authorized(polHostsShutdown, h.hostPowerAction)))
		r.Get("/v2.1/os-hosts/{id}/startup", untilV(2, 42, h.authorized(polHostsStart, h.hostPowerAction)))

		// nova checks no policy on reading flavors: every authenticated
		// caller lists and shows those it sees (flavors.go). The writes
		// check os-flavor-manage, os-flavor-extra-specs and
		// os-flavor-access once the body is valid.
		r.Get("/v2.1/flavors", h.listFlavors(false))
		r.Get("/v2.1/flavors/detail", h.listFlavors(true))
		r.Get("/v2.1/flavors/{id}", h.showFlavor)
		r.Post("/v2.1/flavors", h.createFlavor)
		r.Put("/v2.1/flavors/{id}", h.updateFlavor)
		r.Delete("/v2.1/flavors/{id}", h.deleteFlavor)
		r.Post("/v2.1/flavors/{id}/action", h.flavorAction)
		r.Get("/v2.1/flavors/{flavor_id}/os-flavor-access", h.listFlavorAccess)
		r.Get("/v2.1/flavors/{flavor_id}/os-extra_specs", h.listExtraSpecs)
		r.Post("/v2.1/flavors/{flavor_id}/os-extra_specs", h.createExtraSpecs)
		r.Get("/v2.1/flavors/{flavor_id}/os-extra_specs/{id}", h.showExtraSpec)
		r.Put("/v2.1/flavors/{flavor_id}/os-extra_specs/{id}", h.updateExtraSpec)
		r.Delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{id}", h.deleteExtraSpec)

		r.Get("/v2.1/os-keypairs", h.listKeypairs)
		r.Post("/v2.1/os-keypairs", h.createKeypair)
		r.Get("/v2.1/os-keypairs/{name}", h.showKeypair)
		r.Delete("/v2.1/os-keypairs/{name}", h.deleteKeypair)

		r.Get("/v2.1/servers/{id}/metadata", h.listServerMetadata)
		r.Post("/v2.1/servers/{id}/metadata", h.createServerMetadata)
		r.Put("/v2.1/servers/{id}/metadata", h.updateAllServerMetadata)
		r.Get("/v2.1/servers/{id}/metadata/{key}", h.showServerMetadata)
		r.Put("/v2.1/servers/{id}/metadata/{key}", h.updateServerMetadataItem)
		r.Delete("/v2.1/servers/{id}/metadata/{key}", h.deleteServerMetadataItem)

		r.Group(func(r chi.Router) {
			r.Use(requireTagsVersion)
			r.Get("/v2.1/servers/{id}/tags", h.listServerTags)
			r.Put("/v2.1/servers/{id}/tags", h.updateServerTags)
			r.Delete("/v2.1/servers/{id}/tags", h.deleteServerTags)
			r.Get("/v2.1/servers/{id}/tags/{tag}", h.showServerTag)
			r.Put("/v2.1/servers/{id}/tags/{tag}", h.addServerTag)
			r.Delete("/v2.1/servers/{id}/tags/{tag}", h.deleteServerTag)
		})

		// The servers handlers check their policy where nova's do: index
		// and detail once the query is valid, on the caller's own project;
		// create once the body is valid, on the caller's project; the
		// routes of one server on the instance, once it is found.
		r.Get("/v2.1/servers", h.listServers(false))
		r.Get("/v2.1/servers/detail", h.listServers(true))
		r.Post("/v2.1/servers", h.createServer)
		r.Get("/v2.1/servers/{id}", h.showServer)
		r.Delete("/v2.1/servers/{id}", h.deleteServer)
		r.Put("/v2.1/servers/{id}", h.updateServer)
		r.Post("/v2.1/servers/{id}/action", h.serverAction)
		r.Get("/v2.1/servers/{id}/os-instance-actions", h.listInstanceActions)
		r.Get("/v2.1/servers/{id}/os-instance-actions/{request_id}", h.showInstanceAction)

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
