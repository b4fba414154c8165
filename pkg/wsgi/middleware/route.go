package middleware

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// unmatchedRoute labels requests that matched no route.
const unmatchedRoute = "<unmatched>"

// routeProbe remembers, before the handler runs, what is needed to name the
// route afterwards: the router serving the request and the path it routes.
type routeProbe struct {
	routes chi.Routes
	path   string
}

func probeRoute(r *http.Request) routeProbe {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return routeProbe{}
	}
	path := rctx.RoutePath
	if path == "" {
		path = r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
	}
	return routeProbe{routes: rctx.Routes, path: path}
}

// pattern returns chi's pattern for the route that served r, or
// "<unmatched>". Call it after the handler ran: chi only knows the full
// pattern once routing finished. A 404 or 405 under a mounted sub-router
// leaves the mount's "/prefix/*" as the pattern; such a request is checked
// against the router again and labelled "<unmatched>" when no route matches,
// so that the label set stays bounded by the routes the service defines.
func (p routeProbe) pattern(r *http.Request, status int) string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return unmatchedRoute
	}
	pat := rctx.RoutePattern()
	if pat == "" {
		return unmatchedRoute
	}
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && p.routes != nil &&
		!p.routes.Match(chi.NewRouteContext(), r.Method, p.path) {
		return unmatchedRoute
	}
	return pat
}
