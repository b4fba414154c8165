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
package nova
