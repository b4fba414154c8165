package rpcapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const instUUID = "6f1e3a4c-8a7e-4d8e-9a55-0c3a2b1d4e5f"

// message is one request as the server decoded it.
type message struct {
	method  string
	args    map[string]any
	context rpcsvc.Context
}

// recorder is a compute endpoint that records what it receives, with the
// arguments as a generic JSON object, so the tests see the wire names.
type recorder struct {
	got     chan message
	release chan struct{} // a get_diagnostics of instance "slow" waits on it
}

func (r *recorder) record(ctx context.Context, method string, args map[string]any) {
	rc, _ := rpcsvc.ContextFrom(ctx)
	r.got <- message{method: method, args: args, context: rc}
}

func (r *recorder) BuildAndRunInstance(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodBuildAndRunInstance, args)
	return nil
}

func (r *recorder) TerminateInstance(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodTerminateInstance, args)
	return nil
}

func (r *recorder) RebootInstance(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodRebootInstance, args)
	return nil
}

func (r *recorder) GetConsoleOutput(ctx context.Context, args map[string]any) (string, error) {
	r.record(ctx, MethodGetConsoleOutput, args)
	inst := args["instance"].(map[string]any)
	if inst["uuid"] != instUUID {
		return "", &InstanceNotFoundError{UUID: inst["uuid"].(string)}
	}
	return fmt.Sprintf("tail=%v", args["tail_length"]), nil
}

func (r *recorder) GetDiagnostics(ctx context.Context, args map[string]any) (Diagnostics, error) {
	r.record(ctx, MethodGetDiagnostics, args)
	inst := args["instance"].(map[string]any)
	switch inst["uuid"] {
	case instUUID:
		return Diagnostics{State: "running", Driver: "fake", NumCPUs: 2, UptimeSeconds: 42}, nil
	case slowUUID:
		select {
		case <-r.release:
		case <-ctx.Done():
		}
		return Diagnostics{}, nil
	}
	return Diagnostics{}, &InstanceInvalidStateError{UUID: inst["uuid"].(string), Attr: "vm_state", State: "building", Method: "get_diagnostics"}
}

const slowUUID = "00000000-0000-4000-8000-000000000001"

type env struct {
	tr   *rpcsvc.Transport
	rec  *recorder
	host string
}

// newEnv starts a recorder served at Version on host "h1" of a private
// memory:// broker.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, Version)
}

// newEnvAt is newEnv with the recorder served at version, as a compute of an
// older release serves it: a message above it is refused by the dispatcher.
func newEnvAt(t *testing.T, version string) *env {
	t.Helper()
	ctx := context.Background()
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{
		TransportURL:    "memory://" + testenv.UniqueName("rpcapi_"),
		ControlExchange: testenv.UniqueName("rpcapi_x_"),
		ResponseTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{got: make(chan message, 16), release: make(chan struct{})}
	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{
		Target:    rpcsvc.Target{Topic: Topic, Server: "h1"},
		Endpoints: []rpcsvc.Endpoint{{Version: version, Impl: rec}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(rec.release)
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(stopCtx); err != nil {
			t.Error(err)
		}
		if err := tr.Close(stopCtx); err != nil {
			t.Error(err)
		}
	})
	return &env{tr: tr, rec: rec, host: "h1"}
}

func (e *env) next(t *testing.T) message {
	t.Helper()
	select {
	case m := <-e.rec.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message reached the compute")
		return message{}
	}
}

func (e *env) client(t *testing.T, opts Options) *Client {
	t.Helper()
	cl, err := New(e.tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// asJSON re-encodes v so that expectations can be written as JSON text.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCastsCarryNovasArguments(t *testing.T) {
	e := newEnv(t)
	cl := e.client(t, Options{})
	ctx := rpcsvc.NewContext(context.Background(), rpcsvc.Context{RequestID: "req-1", ProjectID: "p1"})

	row := computedb.Instance{UUID: instUUID, DisplayName: "vm1", Host: "h1", Node: "n1", VCPUs: 2, MemoryMB: 512,
		RootGB: 1, FlavorID: "1", ImageRef: "img", ProjectID: "p1", UserID: "u1", VMState: "building"}
	if err := cl.BuildAndRunInstance(ctx, "h1", BuildAndRunInstanceArgs{Instance: InstanceFrom(row), Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	m := e.next(t)
	if m.method != MethodBuildAndRunInstance || m.context.RequestID != "req-1" {
		t.Fatalf("got %s with context %+v", m.method, m.context)
	}
	wantInst := `{"display_name":"vm1","flavor_id":"1","host":"h1","image_ref":"img","memory_mb":512,"node":"n1",` +
		`"project_id":"p1","root_gb":1,"user_id":"u1","uuid":"` + instUUID + `","vcpus":2}`
	if got := asJSON(t, m.args["instance"]); got != wantInst {
		t.Fatalf("instance on the wire:\n%s\nwant\n%s", got, wantInst)
	}
	for _, k := range []string{"image", "node", "request_spec", "filter_properties", "admin_password", "injected_files",
		"requested_networks", "security_groups", "block_device_mapping", "limits", "host_list", "accel_uuids"} {
		if _, ok := m.args[k]; !ok {
			t.Errorf("build_and_run_instance lacks nova's argument %q", k)
		}
	}
	if len(m.args) != 13 || m.args["node"] != "n1" || asJSON(t, m.args["filter_properties"]) != "{}" ||
		asJSON(t, m.args["block_device_mapping"]) != "[]" {
		t.Fatalf("build args = %v", m.args)
	}

	if err := cl.RebootInstance(ctx, "h1", instUUID, "HARD"); err != nil {
		t.Fatal(err)
	}
	m = e.next(t)
	if m.method != MethodRebootInstance || m.args["reboot_type"] != "HARD" || len(m.args) != 3 ||
		m.args["instance"].(map[string]any)["uuid"] != instUUID {
		t.Fatalf("reboot: %s %v", m.method, m.args)
	}

	if err := cl.TerminateInstance(ctx, "h1", instUUID); err != nil {
		t.Fatal(err)
	}
	m = e.next(t)
	if m.method != MethodTerminateInstance || asJSON(t, m.args["bdms"]) != "[]" || len(m.args) != 2 {
		t.Fatalf("terminate: %s %v", m.method, m.args)
	}
}

func TestCallsReturnResults(t *testing.T) {
	e := newEnv(t)
	cl := e.client(t, Options{})
	ctx := context.Background()

	out, err := cl.GetConsoleOutput(ctx, "h1", instUUID, 20)
	if err != nil || out != "tail=20" {
		t.Fatalf("GetConsoleOutput(20) = %q, %v", out, err)
	}
	if m := e.next(t); m.method != MethodGetConsoleOutput {
		t.Fatalf("method %s", m.method)
	}
	out, err = cl.GetConsoleOutput(ctx, "h1", instUUID, -1)
	if err != nil || out != "tail=<nil>" {
		t.Fatalf("GetConsoleOutput(-1) = %q, %v (want tail_length null)", out, err)
	}
	e.next(t)

	diag, err := cl.GetDiagnostics(ctx, "h1", instUUID)
	if err != nil || diag.State != "running" || diag.NumCPUs != 2 || diag.UptimeSeconds != 42 {
		t.Fatalf("GetDiagnostics = %+v, %v", diag, err)
	}
	e.next(t)
}

func TestRemoteErrorsMatchSentinels(t *testing.T) {
	e := newEnv(t)
	cl := e.client(t, Options{})
	ctx := context.Background()
	const other = "11111111-2222-4333-8444-555555555555"

	_, err := cl.GetConsoleOutput(ctx, "h1", other, 5)
	var rerr *rpcsvc.RemoteError
	if !errors.Is(err, ErrInstanceNotFound) || errors.Is(err, ErrInstanceInvalidState) || !errors.As(err, &rerr) ||
		rerr.Module != "nova.exception" || rerr.Class != "InstanceNotFound" || rerr.Message != "Instance "+other+" could not be found." {
		t.Fatalf("console of an unknown instance: %v (remote %+v)", err, rerr)
	}
	e.next(t)

	_, err = cl.GetDiagnostics(ctx, "h1", other)
	if !errors.Is(err, ErrInstanceInvalidState) || errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("diagnostics in a bad state: %v", err)
	}
	want := "Instance " + other + " in vm_state building. Cannot get_diagnostics while the instance is in this state."
	if !errors.As(err, &rerr) || rerr.Message != want {
		t.Fatalf("message %q, want %q", rerr.Message, want)
	}
	e.next(t)
}

func TestCallTimeout(t *testing.T) {
	e := newEnv(t)
	cl := e.client(t, Options{CallTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := cl.GetDiagnostics(context.Background(), "h1", slowUUID)
	if !errors.Is(err, rpcsvc.ErrTimeout) {
		t.Fatalf("slow call = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the call waited %s, not its 300ms timeout", d)
	}
	e.next(t)
}

func TestVersionCapRefusesBeforeSending(t *testing.T) {
	e := newEnv(t)
	capped := e.client(t, Options{VersionCap: "5.13"})
	ctx := context.Background()
	checks := map[string]func() error{
		"build": func() error {
			return capped.BuildAndRunInstance(ctx, "h1", BuildAndRunInstanceArgs{Instance: Instance{UUID: instUUID}})
		},
		"terminate": func() error { return capped.TerminateInstance(ctx, "h1", instUUID) },
		"reboot":    func() error { return capped.RebootInstance(ctx, "h1", instUUID, "SOFT") },
		"console":   func() error { _, err := capped.GetConsoleOutput(ctx, "h1", instUUID, 1); return err },
		"diag":      func() error { _, err := capped.GetDiagnostics(ctx, "h1", instUUID); return err },
	}
	for name, call := range checks {
		if err := call(); !errors.Is(err, rpcsvc.ErrVersionCap) {
			t.Errorf("%s under cap 5.13 = %v, want ErrVersionCap", name, err)
		}
	}
	// Nothing may have been sent; a cap at 6.0 sends.
	ok := e.client(t, Options{VersionCap: "6.0"})
	if err := ok.RebootInstance(ctx, "h1", instUUID, "SOFT"); err != nil {
		t.Fatal(err)
	}
	if m := e.next(t); m.method != MethodRebootInstance || m.args["reboot_type"] != "SOFT" {
		t.Fatalf("first message after the refusals: %s %v", m.method, m.args)
	}
	if _, err := New(e.tr, Options{VersionCap: "six"}); err == nil {
		t.Fatal("New accepted a malformed version cap")
	}
}

func TestArgumentChecks(t *testing.T) {
	e := newEnv(t)
	cl := e.client(t, Options{})
	ctx := context.Background()
	for name, err := range map[string]error{
		"no host":     cl.TerminateInstance(ctx, "", instUUID),
		"bad uuid":    cl.TerminateInstance(ctx, "h1", "not-a-uuid"),
		"reboot type": cl.RebootInstance(ctx, "h1", instUUID, "WARM"),
		"build uuid":  cl.BuildAndRunInstance(ctx, "h1", BuildAndRunInstanceArgs{}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	select {
	case m := <-e.rec.got:
		t.Fatalf("a refused request was sent: %s", m.method)
	case <-time.After(100 * time.Millisecond):
	}
	if MethodVersion(MethodGetDiagnostics) != "6.0" || MethodVersion("nope") != "" {
		t.Fatal("MethodVersion")
	}
}
