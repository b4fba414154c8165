package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// Manager is the greeter's manager: the service-specific half of a Service.
// Embedding BaseManager gives no-op hooks; it overrides what it needs.
type Manager struct {
	service.BaseManager
	log       *slog.Logger
	greetings atomic.Int64
	reported  atomic.Int64
	serviceID atomic.Int64
}

// PreStartHook runs once the service row exists.
func (m *Manager) PreStartHook(_ context.Context, row registry.Service) error {
	m.serviceID.Store(row.ID)
	m.log.Info("greeter row ready", "service_id", row.ID)
	return nil
}

// Endpoints are served on topic "greeter" at version 1.0.
func (m *Manager) Endpoints() []rpcsvc.Endpoint {
	return []rpcsvc.Endpoint{{Version: "1.0", Impl: &greeterAPI{m: m}}}
}

// PeriodicTasks reports the greeting count every 10 s.
func (m *Manager) PeriodicTasks(ts *periodic.Tasks) {
	ts.Add("report_greetings", func(ctx context.Context) error {
		n := m.greetings.Load()
		m.reported.Store(n)
		m.log.Info("greetings so far", "count", n)
		return nil
	}, periodic.Spacing(10*time.Second), periodic.RunImmediately())
}

// greeterAPI holds the RPC methods; exported methods are served under their
// snake_case names.
type greeterAPI struct{ m *Manager }

// GreetArgs are greet's arguments, decoded from the message's args by name.
type GreetArgs struct {
	Name string `json:"name"`
}

// GreetResult is greet's reply.
type GreetResult struct {
	Greeting string `json:"greeting"`
	Count    int64  `json:"count"`
}

// ErrNoName is returned (and reaches the caller as a RemoteError) for an
// empty name.
var ErrNoName = errors.New("greet needs a name")

// Greet answers the "greet" call.
func (g *greeterAPI) Greet(_ context.Context, args GreetArgs) (GreetResult, error) {
	return g.m.greet(args.Name)
}

// greet is the manager's one operation, behind both the RPC call and the
// HTTP route.
func (m *Manager) greet(name string) (GreetResult, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return GreetResult{}, ErrNoName
	}
	n := m.greetings.Add(1)
	return GreetResult{Greeting: fmt.Sprintf("Hello, %s!", name), Count: n}, nil
}

// newManager returns the manager the RPC and HTTP services share.
func newManager(a *app.App) *Manager { return &Manager{log: a.Log} }

// newService wires the manager into a gonova RPC Service with the options of
// the parsed configuration (host, heartbeats, periodic tasks, transport).
func newService(a *app.App, m *Manager) (*service.Service, error) {
	return service.Create(a.ServiceOptions("greeter", m))
}
