package computeapi

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/internal/compute/manager"
	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// call is one ComputeRPC call the recorder saw.
type call struct {
	Method string
	Host   string
	UUID   string
	Reboot virt.RebootType
	Length *int
}

// recorder is a ComputeRPC that records casts and answers calls; err makes
// every method fail, block makes GetConsoleOutput wait for its ctx (a
// compute that never answers).
type recorder struct {
	mu      sync.Mutex
	calls   []call
	err     error
	block   bool
	console string
}

func (r *recorder) record(c call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return r.err
}

func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) BuildAndRunInstance(_ context.Context, in computedb.Instance) error {
	return r.record(call{Method: rpcapi.MethodBuildAndRunInstance, Host: in.Host, UUID: in.UUID})
}

func (r *recorder) TerminateInstance(_ context.Context, in computedb.Instance) error {
	return r.record(call{Method: rpcapi.MethodTerminateInstance, Host: in.Host, UUID: in.UUID})
}

func (r *recorder) RebootInstance(_ context.Context, in computedb.Instance, how virt.RebootType) error {
	return r.record(call{Method: rpcapi.MethodRebootInstance, Host: in.Host, UUID: in.UUID, Reboot: how})
}

func (r *recorder) InstanceAction(_ context.Context, method string, in computedb.Instance) error {
	return r.record(call{Method: method, Host: in.Host, UUID: in.UUID})
}

func (r *recorder) RebuildInstance(_ context.Context, in computedb.Instance, _ string, _ *string) error {
	return r.record(call{Method: rpcapi.MethodRebuildInstance, Host: in.Host, UUID: in.UUID})
}

func (r *recorder) PrepResize(_ context.Context, in computedb.Instance, _ Flavor, mig rpcapi.Migration) error {
	return r.record(call{Method: rpcapi.MethodPrepResize, Host: mig.DestCompute, UUID: in.UUID})
}

func (r *recorder) MigrationCast(_ context.Context, method string, in computedb.Instance, mig rpcapi.Migration) error {
	return r.record(call{Method: method, Host: mig.SourceCompute, UUID: in.UUID})
}

func (r *recorder) GetConsoleOutput(ctx context.Context, in computedb.Instance, n *int) (string, error) {
	if err := r.record(call{Method: rpcapi.MethodGetConsoleOutput, Host: in.Host, UUID: in.UUID, Length: n}); err != nil {
		return "", err
	}
	if r.block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return r.console, nil
}

// env is an API over real stores of one backend.
type env struct {
	t        *testing.T
	services registry.Store
	compute  computedb.Store
	clk      *clocktest.Fake // mem only
	pool     *pgxpool.Pool   // pg only
}

type backend string

const (
	memBackend backend = "mem"
	pgBackend  backend = "pg"
)

func newEnv(t *testing.T, b backend) *env {
	t.Helper()
	e := &env{t: t}
	switch b {
	case memBackend:
		e.clk = clocktest.New(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
		e.services = memstore.New(e.clk)
		e.compute = computedb.NewMem()
	case pgBackend:
		e.pool = pgtest.NewPool(t)
		e.services = pgstore.New(e.pool)
		e.compute = computedb.NewPG(e.pool)
	}
	return e
}

// onBoth runs f on the memory and the Postgres stores.
func onBoth(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range []backend{memBackend, pgBackend} {
		t.Run(string(b), func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}

// api is an API over e's stores and rpc; mod changes its options first.
func (e *env) api(rpc ComputeRPC, mod ...func(*Options)) *API {
	e.t.Helper()
	o := Options{Services: e.services, Compute: e.compute, RPC: rpc, Logger: quiet, RPCTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	a, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// addService creates a nova-compute row for host and heartbeats it (up).
func (e *env) addService(host string) registry.Service {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.services.Create(ctx, registry.NewService{Host: host, Binary: registry.BinaryCompute, Topic: rpcapi.Topic})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.services.Report(ctx, s.ID); err != nil {
		e.t.Fatal(err)
	}
	if s, err = e.services.Get(ctx, s.ID); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// addNode registers a compute host: its service (up) and compute_nodes row.
func (e *env) addNode(host string, vcpus int, ramMB, diskGB int64) registry.Service {
	e.t.Helper()
	s := e.addService(host)
	if _, err := e.compute.UpsertNode(context.Background(), computedb.Node{Host: host, HypervisorHostname: host + ".node",
		HypervisorType: "fake", VCPUs: vcpus, MemoryMB: ramMB, LocalGB: diskGB, ServiceID: s.ID}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// makeDown ages a service's last heartbeat beyond service_down_time; on the
// memory store every other compute is reported again so that it stays up.
func (e *env) makeDown(s registry.Service) {
	e.t.Helper()
	ctx := context.Background()
	if e.clk != nil {
		e.clk.Advance(2 * time.Minute)
		rows, _, _ := e.services.List(ctx, registry.Filter{Binary: registry.BinaryCompute})
		for _, r := range rows {
			if r.ID != s.ID {
				if _, err := e.services.Report(ctx, r.ID); err != nil {
					e.t.Fatal(err)
				}
			}
		}
		return
	}
	if _, err := e.pool.Exec(ctx, `UPDATE services SET last_seen_up = now() - interval '2 minutes' WHERE id = $1`, s.ID); err != nil {
		e.t.Fatal(err)
	}
}

// startCompute runs a real nova-compute for host over the memory://
// transport: the compute manager with the fake driver, its RPC server, and
// its services row (up). It returns the ComputeRPC that reaches it.
func (e *env) startCompute(host string) ComputeRPC {
	e.t.Helper()
	ctx := context.Background()
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{
		TransportURL:    "memory://" + testenv.UniqueName("computeapi_"),
		ControlExchange: testenv.UniqueName("computeapi_x_"),
		ResponseTimeout: 10 * time.Second,
		Logger:          quiet,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	svc := e.addService(host)
	m, err := manager.New(manager.Options{Host: host, Driver: fake.New(fake.Options{VCPUs: 8, MemoryMB: 16384, LocalGB: 100, Logger: quiet}),
		Store: e.compute, Logger: quiet, ResourceSpacing: -1, SyncPowerStateSpacing: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := m.InitHost(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := m.PreStartHook(ctx, svc); err != nil {
		e.t.Fatal(err)
	}
	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{Target: rpcsvc.Target{Topic: rpcapi.Topic, Server: host}, Endpoints: m.Endpoints()})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			e.t.Error(err)
		}
		if err := m.Shutdown(sctx); err != nil {
			e.t.Error(err)
		}
		if err := tr.Close(sctx); err != nil {
			e.t.Error(err)
		}
	})
	cl, err := rpcapi.New(tr, rpcapi.Options{CallTimeout: 10 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return NewComputeRPC(cl)
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 15s; last: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	alice = Caller{UserID: "alice", ProjectID: "proj-a", RequestID: "req-alice"}
	bob   = Caller{UserID: "bob", ProjectID: "proj-b"}
	admin = Caller{UserID: "admin", ProjectID: "admin", Admin: true}

	tiny  = Flavor{ID: "1", Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1}
	small = Flavor{ID: "2", Name: "m1.small", VCPUs: 1, MemoryMB: 2048, RootGB: 20}
)

const imageID = "70a599e0-31e7-49b7-b260-868f441e862b"

func boot(name string, f Flavor) CreateRequest {
	return CreateRequest{Name: name, Flavor: f, ImageRef: imageID}
}
