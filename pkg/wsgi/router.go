package wsgi

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

// RouterOptions selects the middleware NewRouter installs.
type RouterOptions struct {
	// Logger receives the access log and panic reports. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts requests by route (middleware.NewMetrics).
	Metrics *middleware.Metrics
	// Microversion, when set, negotiates the compute microversion and adds
	// its headers to every response.
	Microversion *microversion.Negotiator
}

// NewRouter returns a chi router with gonova's standard chain, outermost
// first: request id, access log, metrics, panic recovery, input checks
// (middleware.Inputs: a path or query string no store could take is a 400),
// microversion. Its
// 404 and 405 answers are nova faults. Authentication and policy are left to
// the caller, because some routes (the version documents) are public:
//
//	r := wsgi.NewRouter(wsgi.RouterOptions{Logger: logger, Metrics: m, Microversion: mv})
//	r.Get("/", versions)
//	r.Group(func(r chi.Router) {
//		r.Use(auth.Middleware(auth.NoAuth{}))
//		r.With(enf.Require("os_compute_api:os-services:list")).Get("/v2.1/os-services", list)
//	})
func NewRouter(o RouterOptions) *chi.Mux {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.AccessLog(logger))
	if o.Metrics != nil {
		r.Use(o.Metrics.Handler)
	}
	r.Use(middleware.Recoverer(logger), middleware.Inputs)
	if o.Microversion != nil {
		r.Use(o.Microversion.Handler)
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		fault.WriteError(w, fault.New(http.StatusNotFound, "The resource could not be found."))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		fault.WriteError(w, fault.Newf(http.StatusMethodNotAllowed,
			"The method %s is not allowed for this resource.", r.Method))
	})
	return r
}
