package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

// call is one ComputeRPC call the fake saw.
type call struct {
	Method     string
	Host       string
	UUID       string
	RebootType string
	Length     *int
}

// fakeCompute records casts and answers calls; Err makes every method fail.
type fakeCompute struct {
	mu      sync.Mutex
	calls   []call
	err     error
	console string
	block   bool // GetConsoleOutput waits for ctx (a compute that never answers)
}

func (f *fakeCompute) record(c call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return f.err
}

func (f *fakeCompute) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeCompute) BuildAndRunInstance(_ context.Context, in computedb.Instance) error {
	return f.record(call{Method: "build_and_run_instance", Host: in.Host, UUID: in.UUID})
}

func (f *fakeCompute) TerminateInstance(_ context.Context, in computedb.Instance) error {
	return f.record(call{Method: "terminate_instance", Host: in.Host, UUID: in.UUID})
}

func (f *fakeCompute) RebootInstance(_ context.Context, in computedb.Instance, t virt.RebootType) error {
	return f.record(call{Method: "reboot_instance", Host: in.Host, UUID: in.UUID, RebootType: string(t)})
}

func (f *fakeCompute) InstanceAction(_ context.Context, method string, in computedb.Instance) error {
	return f.record(call{Method: method, Host: in.Host, UUID: in.UUID})
}

func (f *fakeCompute) RebuildInstance(_ context.Context, in computedb.Instance, _ string, _ *string) error {
	return f.record(call{Method: "rebuild_instance", Host: in.Host, UUID: in.UUID})
}

func (f *fakeCompute) PrepResize(_ context.Context, in computedb.Instance, _ computeapi.Flavor, mig rpcapi.Migration) error {
	return f.record(call{Method: "prep_resize", Host: mig.DestCompute, UUID: in.UUID})
}

func (f *fakeCompute) MigrationCast(_ context.Context, method string, in computedb.Instance, mig rpcapi.Migration) error {
	host := mig.SourceCompute
	if method == "revert_resize" {
		host = mig.DestCompute
	}
	return f.record(call{Method: method, Host: host, UUID: in.UUID})
}

func (f *fakeCompute) GetConsoleOutput(ctx context.Context, in computedb.Instance, n *int) (string, error) {
	if err := f.record(call{Method: "get_console_output", Host: in.Host, UUID: in.UUID, Length: n}); err != nil {
		return "", err
	}
	if f.block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return f.console, nil
}

// env is a router over real stores.
type env struct {
	t        testing.TB
	services registry.Store
	compute  computedb.Store
	rpc      *fakeCompute
	handler  http.Handler
	capi     *computeapi.API
	clk      *clocktest.Fake // mem only
	pool     *pgxpool.Pool   // pg only
	reg      *prometheus.Registry
}

type backend string

const (
	memBackend backend = "mem"
	pgBackend  backend = "pg"
)

var backends = []backend{memBackend, pgBackend}

// newEnv builds the router over a compute.API over the stores of b and a
// recording ComputeRPC; mod may change the options of either first.
func newEnv(t testing.TB, b backend, mod ...func(*Deps, *computeapi.Options)) *env {
	t.Helper()
	e := &env{t: t, rpc: &fakeCompute{console: "boot ok\n"}, reg: prometheus.NewPedanticRegistry()}
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
	// nova has no flavors until someone creates them; the tests boot
	// nova's classic m1.* set, as `nova-manage flavor create-defaults`.
	if _, err := computedb.CreateDefaultFlavors(context.Background(), e.compute); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := computeapi.Options{Services: e.services, Compute: e.compute, RPC: e.rpc, Logger: quiet, RPCTimeout: 2 * time.Second}
	d := Deps{Services: e.services, Compute: e.compute, Auth: auth.NoAuth{}, Logger: quiet, Registerer: e.reg}
	for _, m := range mod {
		m(&d, &o)
	}
	capi, err := computeapi.New(o)
	if err != nil {
		t.Fatal(err)
	}
	d.ComputeAPI = capi
	e.capi = capi
	h, err := NewRouter(d)
	if err != nil {
		t.Fatal(err)
	}
	// Served by wsgi.Service, the router's bodies are capped there; here it
	// is called directly, so cap them the same way.
	e.handler = middleware.MaxRequestBody(wsgi.DefaultMaxRequestBodySize)(h)
	return e
}

func runBoth(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}

// addService creates a service row and heartbeats it (up).
func (e *env) addService(host, binary string) registry.Service {
	e.t.Helper()
	ctx := context.Background()
	topic := strings.TrimPrefix(binary, "nova-")
	if binary == registry.BinaryAPI {
		topic = ""
	}
	s, err := e.services.Create(ctx, registry.NewService{Host: host, Binary: binary, Topic: topic})
	if err != nil {
		e.t.Fatal(err)
	}
	if binary != registry.BinaryAPI {
		if _, err := e.services.Report(ctx, s.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	s, err = e.services.Get(ctx, s.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// makeDown ages a service's last heartbeat beyond service_down_time.
func (e *env) makeDown(s registry.Service) {
	e.t.Helper()
	if e.clk != nil {
		// Every other service goes stale too; re-report those that must stay up.
		e.clk.Advance(2 * time.Minute)
		rows, _, _ := e.services.List(context.Background(), registry.Filter{})
		for _, r := range rows {
			if r.ID != s.ID && r.Binary != registry.BinaryAPI {
				if _, err := e.services.Report(context.Background(), r.ID); err != nil {
					e.t.Fatal(err)
				}
			}
		}
		return
	}
	if _, err := e.pool.Exec(context.Background(),
		`UPDATE services SET last_seen_up = now() - interval '2 minutes' WHERE id = $1`, s.ID); err != nil {
		e.t.Fatal(err)
	}
}

// addNode registers a compute host: service (up) and compute_nodes row.
func (e *env) addNode(host string, vcpus int, ramMB, diskGB int64) (registry.Service, computedb.Node) {
	e.t.Helper()
	s := e.addService(host, registry.BinaryCompute)
	n, err := e.compute.UpsertNode(context.Background(), computedb.Node{Host: host, HypervisorHostname: host + ".node",
		HypervisorType: "fake", HypervisorVersion: 1000, HostIP: "192.0.2.1", VCPUs: vcpus, MemoryMB: ramMB, LocalGB: diskGB,
		FreeRAMMB: ramMB, FreeDiskGB: diskGB, ServiceID: s.ID, CPUInfo: `{"arch": "x86_64"}`})
	if err != nil {
		e.t.Fatal(err)
	}
	return s, n
}

type resp struct {
	Code   int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

const (
	admin = "admin:admin"
	alice = "alice:proj-a"
	bob   = "bob:proj-b"
)

// do sends a request; version "" sends no microversion header.
func (e *env) do(method, path, token, version string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if version != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+version)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, req)
	r := resp{Code: w.Code, Header: w.Header(), Raw: w.Body.Bytes()}
	if len(r.Raw) > 0 {
		if err := json.Unmarshal(r.Raw, &r.Body); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %q", method, path, r.Raw)
		}
	}
	return r
}

// wantFault checks a nova error body.
func (r resp) wantFault(t *testing.T, code int, message string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Raw)
	}
	b, err := fault.Parse(r.Raw)
	if err != nil {
		t.Fatalf("not a fault body: %v: %s", err, r.Raw)
	}
	if b.Code != code || b.Name != fault.Name(code) {
		t.Fatalf("fault %s/%d, want %s/%d", b.Name, b.Code, fault.Name(code), code)
	}
	if message != "" && b.Message != message {
		t.Fatalf("message %q\n want %q", b.Message, message)
	}
}

func (r resp) want(t *testing.T, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Raw)
	}
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	return m
}

func list(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not a list", v)
	}
	return l
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var errBroker = errors.New("broker unreachable")

func registryUpdate(disabled, forced *bool) registry.Update {
	return registry.Update{Disabled: disabled, ForcedDown: forced}
}
