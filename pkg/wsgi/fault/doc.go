// Package fault gives gonova's HTTP services nova's error bodies.
//
// nova answers every API error with one JSON shape,
//
//	{"<name>": {"code": N, "message": "..."}}
//
// where the name is chosen from the status code by nova's Fault wrapper
// (nova/api/openstack/wsgi.py, Fault._fault_names): badRequest (400),
// unauthorized (401), forbidden (403), itemNotFound (404), badMethod (405),
// conflictingRequest (409), overLimit (413 and 429), badMediaType (415),
// notImplemented (501), serviceUnavailable (503) and computeFault for every
// other code, 406 and 500 included. Clients (novaclient, openstacksdk,
// gophercloud, tempest) parse that shape, so every gonova error must have it.
//
// # Why a typed error
//
// Handlers return a *Error (or wrap one with fmt.Errorf("...: %w", err)) and
// call Write once; they never format bodies themselves. An error that is not a
// *Error is a bug in the service: Write answers it with nova's generic 500
// message and never echoes its text, because it may carry database or host
// details (nova bugs 868360 and 874472 are the same lesson).
//
// # Logging
//
// Write logs an unexpected (non-*Error) error at ERROR level through the
// logger stored by WithLogger, or slog.Default. Expected faults are logged at
// DEBUG, as nova's "Returning %(code)s to user" line is.
//
// # Metrics
//
// None here: the status code is counted by the metrics middleware.
package fault
