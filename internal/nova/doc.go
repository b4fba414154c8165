// Package nova is nova's own wiring on the framework's runtime (pkg/app):
// the compute API service (nova-api), the compute service (nova-compute) and
// the compute RPC client the API sends work through, plus nova's store of
// compute nodes and instances beside the runtime's services store.
//
// nova-api also runs one periodic task of its own (nova-api has none in
// nova): _fail_unclaimed_builds (NewBuildRequestSweep, [gonova]
// build_request_timeout, default 300 s), which fails the instances no
// compute took up, so no boot stays in BUILD for ever when its build request
// was lost. It runs in every API worker, safely: its updates are
// compare-and-set. Its counter is gonova_api_build_request_timeouts_total
// {outcome="error"|"changed"}.
//
// Why: the runtime turns nova.conf into a logger, metrics, the services store,
// a transport and a launcher for any service; what only nova has (its tables,
// its API, its manager) is built here, so pkg/app knows nothing of nova and
// each cmd/ main stays a few lines.
//
// # Rolling upgrades
//
// Every service records ServiceVersion (the last of the history in
// internal/compute/versions) in its services row, and nova-compute serves the
// compute RPC version of its service version. nova-api's compute RPC client
// (ComputeClient) is capped by [upgrade_levels] compute: a version, a release
// name, or auto, which reads the oldest live nova-compute row's service
// version when the API service starts and again on SIGHUP, logging
// "Automatically selected compute RPC version 6.0 from minimum service
// version 1". Before either service is built, a nova-compute row older than
// versions.OldestSupported stops the start with nova's TooOldComputeService
// message and exit code 2 (app.ExitConfig), or only warns with [workarounds]
// disable_compute_service_check_for_ffu.
package nova
