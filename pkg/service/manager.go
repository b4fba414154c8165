package service

import (
	"context"

	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// Manager is the service-specific half of a Service: nova's manager classes
// (ComputeManager, ...). The Service calls its hooks in the seed's order:
//
//	InitHost -> (service row found or created) -> PreStartHook -> RPC server
//	started with Endpoints -> PostStartHook -> heartbeats -> PeriodicTasks
//
// and at stop: RPC consumption stops -> Shutdown (bounded by the manager
// shutdown timeout) -> periodic tasks and heartbeats stop.
//
// Embed BaseManager to get no-op defaults and implement only what you need.
type Manager interface {
	// InitHost prepares the host before the service row exists (nova's
	// init_host). It must honour ctx: a SIGTERM during start-up cancels it.
	InitHost(ctx context.Context) error
	// PreStartHook runs once the service row exists, before the RPC server
	// starts. svc is that row.
	PreStartHook(ctx context.Context, svc registry.Service) error
	// PostStartHook runs after the RPC server consumes.
	PostStartHook(ctx context.Context) error
	// Reset is called on SIGHUP after the configuration was reloaded.
	Reset(ctx context.Context) error
	// Shutdown lets in-flight work finish before ctx's deadline and releases
	// what the manager holds. RPC consumption has already stopped.
	Shutdown(ctx context.Context) error
	// Endpoints are the RPC endpoints the manager serves: its own first, then
	// any additional ones. The Service adds the baseapi endpoint itself.
	Endpoints() []rpcsvc.Endpoint
	// PeriodicTasks registers the manager's periodic tasks.
	PeriodicTasks(ts *periodic.Tasks)
}

// BaseManager implements every Manager method as a no-op; embed it.
type BaseManager struct{}

func (BaseManager) InitHost(context.Context) error                       { return nil }
func (BaseManager) PreStartHook(context.Context, registry.Service) error { return nil }
func (BaseManager) PostStartHook(context.Context) error                  { return nil }
func (BaseManager) Reset(context.Context) error                          { return nil }
func (BaseManager) Shutdown(context.Context) error                       { return nil }
func (BaseManager) Endpoints() []rpcsvc.Endpoint                         { return nil }
func (BaseManager) PeriodicTasks(*periodic.Tasks)                        {}
