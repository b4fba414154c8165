// Package api is gonova's compute API: the handlers behind nova-api, wired
// into one chi router by NewRouter.
//
// # Why
//
// Operators and tools (python-novaclient, openstacksdk, gophercloud,
// tempest) talk to nova's HTTP API and nothing else, so this package keeps
// nova's wire contract where gonova serves a route at all: paths, status
// codes, error bodies ({"itemNotFound": {"code": 404, "message": ...}}),
// microversion-dependent fields and nova's own error wording. The servers
// handlers only parse a request, call nova's compute.API
// (internal/compute/api, which places, casts and decides) and render its
// answer, mapping its typed refusals to nova's faults (errors.go); the
// operator APIs read and write the shared stores directly (pkg/registry for
// os-services, internal/computedb for os-hypervisors).
//
// Served: the version documents (GET /, /v2.1), os-services (list, update
// before and from 2.53, delete), os-hypervisors (list, detail, show),
// flavors (list with nova's filters and paging, show, create, delete, 2.55
// update; extra specs with 2.86 validation, extra_specs_validators.go;
// flavor access for private flavors), os-keypairs (generate, import, list,
// show, delete; 2.2, 2.10, 2.35, 2.92), servers (create, list, detail,
// show, delete; actions reboot and os-getConsoleOutput), server metadata
// and server tags (2.26). Flavors, key pairs, metadata and tags live in the
// store (internal/computedb); nova has no flavors until an admin creates
// them or `nova-manage flavor create-defaults` / [gonova] default_flavors
// create its classic m1.* set. os-quota-sets (show, defaults, detail,
// update, delete), os-quota-class-sets (show, update), /limits,
// os-simple-tenant-usage (index, show) and os-server-groups (create, list,
// show, delete) read and write quotas and groups through internal/quota
// and the store; the checks that must hold across API processes (a create
// within its project's quota, a group member on a host its policy allows)
// run inside the store's transactions, and a refusal is nova's 403 "Quota
// exceeded ..." (errors.go).
//
// Request bodies are validated as nova's JSON schemas validate them
// (additionalProperties: false where nova has it, nova's formats and
// enums), so bad input is a 4xx with nova's error body, never a 500.
//
// The servers list (servers_list.go) reads its query as nova's
// query_params_v21/v226/v266/v273/v275 schemas and _get_servers do: regex
// filters must compile as Python regexes (internal/pyregex), non-admins
// keep only nova's non-admin filters (the others are silently dropped, at
// every microversion), unknown parameters are dropped before 2.75 and
// refused from it, status becomes vm and task states, and sort keys,
// directions, limit and marker follow nova's defaults. The result is a
// typed computedb.InstanceFilter that compute.API and the store run in SQL.
//
// # Authorization
//
// Every route but the version documents and the flavor reads asks Deps.Policy
// (pkg/wsgi/policy, nova's rules from internal/policies, overridden by
// [oslo_policy] policy_file) where nova's controller does, on nova's
// target: os-services and os-hypervisors on the empty target (admin APIs);
// servers index and detail on the caller's project once the query is valid,
// all_tenants also on ...:get_all_tenants; create on {project_id, user_id,
// availability_zone} once the body is valid; show, delete, reboot and
// os-getConsoleOutput on the instance ({project_id}, delete also user_id)
// after loading it scoped to the caller's project, so another project's
// server is 404 whatever the policy, and a refusal is nova's 403 "Policy
// doesn't allow <action> to be performed.". The detail views show
// OS-EXT-SRV-ATTR and host_status as os-extended-server-attributes and
// servers:show:host_status[:unknown-only] allow. nova checks no policy on
// reading flavors; neither does gonova. The flavor writes check
// os-flavor-manage, os-flavor-extra-specs and os-flavor-access on the empty
// target once the body is valid; key pairs check os-keypairs on {user_id}
// (an admin may act for another user from 2.10); server metadata checks
// server-metadata on the instance found in the caller's project; server
// tags check os-server-tags on the instance's project before anything else,
// as nova (which finds the server by its mapping): another project's
// server is a 403 there. A caller is an admin (every project's
// servers) when its authenticator says so or the policy's context_is_admin
// allows it, as nova's RequestContext decides is_admin.
//
// # Logging
//
// Every request is logged once by the access log (pkg/wsgi/middleware).
// Handlers log at Info what changes a service (updated or deleted), and at
// Error unexpected failures (through fault.Write); what happens to servers
// is logged by internal/compute/api.
//
// # Metrics
//
// With Deps.Registerer set, the request metrics of pkg/wsgi/middleware
// (gonova_http_requests_total, gonova_http_request_duration_seconds,
// gonova_http_requests_in_flight), labelled by chi route pattern.
package api
