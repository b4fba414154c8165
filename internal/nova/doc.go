// Package nova is nova's own wiring on the framework's runtime (pkg/app):
// the compute API service (nova-api), the compute service (nova-compute) and
// the compute RPC client the API sends work through, plus nova's store of
// compute nodes and instances beside the runtime's services store.
//
// Why: the runtime turns nova.conf into a logger, metrics, the services store,
// a transport and a launcher for any service; what only nova has (its tables,
// its API, its manager) is built here, so pkg/app knows nothing of nova and
// each cmd/ main stays a few lines.
package nova
