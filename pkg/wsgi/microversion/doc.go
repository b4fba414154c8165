// Package microversion negotiates nova's compute API microversion.
//
// A client asks for a version with "OpenStack-API-Version: compute 2.53" or
// with nova's legacy "X-OpenStack-Nova-API-Version: 2.53"; "latest" means the
// highest version this service implements, and no header means the minimum,
// 2.1. Handlers then branch on the negotiated version, for example
// FromContext(r.Context()).AtLeast(2, 53) where ids became uuids (see the
// package example).
//
// # Why
//
// Microversions are how nova changes its API without breaking old clients;
// a gonova service must honour the same rules (nova/api/openstack/wsgi.py,
// Request.set_api_version_request, and api_version_request.py):
//
//   - the standard header wins over the legacy one; in a header that lists
//     several services ("compute 2.5, placement 1.2") the last "compute" entry
//     is used, and the service type is matched without regard to case, as
//     microversion-parse does;
//   - a version must match ^[1-9]\d*\.([1-9]\d*|0)$, otherwise 400 badRequest
//     "API Version String X is of invalid format. Must be of format
//     MajorNum.MinorNum.";
//   - a version outside [min, max] is 406 (a computeFault body, since nova has
//     no fault name for 406) "Version X is not supported by the API. Minimum is
//     2.1 and maximum is M.".
//
// gonova claims only the versions it implements: the default maximum is
// DefaultMax (2.93, nova 26's), and Options.Max sets another.
//
// # Response headers
//
// Every response that went through the negotiator, errors included, carries
// "Vary: OpenStack-API-Version, X-OpenStack-Nova-API-Version". Every response
// with a negotiated version also carries "OpenStack-API-Version: compute X.Y"
// and "X-OpenStack-Nova-API-Version: X.Y". Like nova, a 406 echoes the
// version that was asked for, and a 400 for a malformed version carries no
// version (there is none).
//
// # Logging
//
// None: a negotiation failure is an ordinary client error, visible in the
// access log with its status.
//
// # Metrics
//
// None: the negotiated version is not a metrics label (it would multiply
// every series by the number of versions in use).
package microversion
