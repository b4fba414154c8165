// Package wsgi is gonova's HTTP service: nova's WSGIService rebuilt on
// net/http, with the helpers every API handler needs.
//
// A Service owns one http.Server on one listener. A launcher runs it like
// any other service: Start binds and serves, Stop drains, Wait waits, Reset
// is the SIGHUP hook.
//
// The package example builds a router with NewRouter (request id, access
// log, metrics, recovery, microversion), puts auth and policy on its routes,
// serves it with New and Start, and stops it with Stop under a fresh
// deadline, then Wait. Under a multi-worker launcher, set Options.Listen to
// call launcher.Listen so that workers share the port.
//
// # Why
//
// nova's WSGIService binds its socket in its constructor, so a port in use
// fails before the launcher reports the service started; gonova keeps that
// promise with Start returning only after the listener is bound, and an
// OnStarted hook (to record the nova-osapi_compute service row) that runs
// after the bind and before Start returns. The listener comes from an
// injected Listen function so that a multi-worker launcher can hand each
// worker an inherited socket.
//
// Stop is graceful, which nova's eventlet server was not: it closes the
// listener (new connections are refused), lets requests in flight finish
// until the context's deadline, then closes every connection and cancels the
// contexts of the handlers still running.
//
// Requests are bounded as oslo and nova bound them: headers must arrive within
// ReadHeaderTimeout; bodies are capped at [oslo_middleware]
// max_request_body_size (112 KiB), read through DecodeJSON, which turns every
// failure into nova's fault body (400, 413 or 415).
//
// # Logging
//
// Start logs "listening" (INFO) with the service name and bound address; Stop
// logs "stopping" and, when the deadline forced connections closed, a WARN
// "graceful stop timed out". Errors of the serve loop are logged at ERROR and
// returned by Err. net/http's own error log (TLS handshakes, broken
// connections) goes to the same logger at WARN.
//
// # Metrics
//
// The Service itself has none; the request metrics come from
// middleware.Metrics in the router (gonova_http_requests_total,
// gonova_http_request_duration_seconds, gonova_http_requests_in_flight).
package wsgi
