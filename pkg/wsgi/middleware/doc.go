// Package middleware holds the HTTP middleware every gonova service puts in
// front of its handlers: request ids, an access log, Prometheus metrics,
// panic recovery, input checks and the request body cap. Authentication
// (package auth), policy (package policy) and microversion negotiation
// (package microversion) live in their own packages because handlers import
// their context accessors.
//
// # Why
//
// nova builds the same chain from paste filters (api-paste.ini): request_id,
// faultwrap, request_log, sizelimit, authtoken, keystonecontext. Each filter
// here is one file with one test, shaped func(http.Handler) http.Handler, so a
// service can use it with chi's Use or with bare net/http.
//
// The usual order, outermost first, is RequestID (ids first: everything below
// logs them), AccessLog and Metrics.Handler (they see the final status, even
// of a panic; metrics read the chi route pattern), Recoverer (a panic becomes
// a 500 computeFault), Inputs (a path or query no store could take is a 400),
// then the microversion negotiator, and auth on the routes that need a token. wsgi.NewRouter installs that chain; the package
// example builds it by hand.
//
// MaxRequestBody (oslo's sizelimit) is not in that chain: wsgi.Service
// applies it once, outside the router, from Options.MaxRequestBodySize.
//
// # Logging
//
// AccessLog writes one INFO record a request ("request served", ERROR for a
// 5xx) with method, route, path, status, bytes, duration_seconds, request_id,
// global_request_id (when given) and microversion (when negotiated). Recoverer
// writes one ERROR record a panic with the panic value and stack; the client
// never sees either.
//
// # Metrics
//
// NewMetrics registers, on the Registerer it is given:
//
//	gonova_http_requests_total{route,method,code}        counter
//	gonova_http_request_duration_seconds{route,method}   histogram
//	gonova_http_requests_in_flight                       gauge
//
// route is chi's route pattern read after the handler ran (for example
// "/v2.1/os-services/{service_id}"), or "<unmatched>" when no route matched,
// so that labels never carry raw paths or ids.
package middleware
