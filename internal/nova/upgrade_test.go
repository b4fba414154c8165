package nova

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/testenv"
)

// runtimeAt is runtime for a binary at service version (an older release
// when below ServiceVersion), logging into the returned file.
func runtimeAt(t *testing.T, body string, version int) (*App, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	o := Options("test")
	o.Output = out
	if version != 0 {
		o.Version = version
	}
	a, err := app.NewFromConfig(context.Background(), parse(t, body), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return Wrap(a), logPath
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wireMessage is what a raw AMQP peer reads of an oslo request.
type wireMessage struct {
	Method  string         `json:"method"`
	Version string         `json:"version"`
	Args    map[string]any `json:"args"`
}

// tap binds a queue of its own to the control exchange with the routing keys
// of the given compute hosts, so it receives a copy of every message sent to
// them, as the broker delivered it: the version in the message is the one the
// API put on the wire.
func tap(t *testing.T, exchange string, hosts ...string) <-chan wireMessage {
	t.Helper()
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if err := ch.QueueBind(q.Name, "compute."+h, exchange, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan wireMessage, 16)
	go func() {
		defer close(out)
		for d := range deliveries {
			var env struct {
				Message string `json:"oslo.message"`
			}
			var m wireMessage
			if err := json.Unmarshal(d.Body, &env); err != nil || json.Unmarshal([]byte(env.Message), &m) != nil {
				m = wireMessage{Method: "undecodable: " + string(d.Body)}
			}
			out <- m
		}
	}()
	return out
}

// dropBrokerNames deletes the queues and the exchange a test declared.
func dropBrokerNames(t *testing.T, exchange string, queues ...string) {
	t.Helper()
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Error(err)
		return
	}
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			t.Errorf("deleting queue %s: %v", q, err)
			return
		}
	}
	if err := ch.ExchangeDelete(exchange, false, false); err != nil {
		t.Errorf("deleting exchange %s: %v", exchange, err)
	}
}

func nextWire(t *testing.T, c <-chan wireMessage) wireMessage {
	t.Helper()
	select {
	case m := <-c:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message reached the broker")
		return wireMessage{}
	}
}

// A rolling upgrade with [upgrade_levels] compute = auto: one compute of the
// first release (service version 1, serving 6.0 only: the real manager) and
// one of this release (3, serving 6.1). The API sends 6.0 to both, and both
// build; once the old compute is upgraded (restarted at 3) and the API's cap
// refreshed (Reset, what SIGHUP does), the API sends 6.1.
func TestRollingUpgradeCapsTheAPIAtTheOldestCompute(t *testing.T) {
	testenv.RequireRabbit(t)
	dbURL := pgtest.NewDatabase(t)
	exchange := testenv.UniqueName("upgrade_x_")
	oldHost, newHost := testenv.UniqueName("upg-old-"), testenv.UniqueName("upg-new-")
	conf := func(host string) string {
		return "[DEFAULT]\nhost = " + host + "\ntransport_url = " + testenv.RabbitURL() + "\ncontrol_exchange = " + exchange +
			"\nperiodic_enable = false\nosapi_compute_listen = 127.0.0.1\nosapi_compute_listen_port = 0\n" +
			"[database]\nconnection = " + dbURL + "\n[api]\nauth_strategy = noauth2\n[upgrade_levels]\ncompute = auto\n" +
			"[gonova]\nmetrics_listen =\napi_metrics_listen =\n"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Registered first, run last: once every service stopped, the broker
	// keeps nothing of this test.
	t.Cleanup(func() { dropBrokerNames(t, exchange, "compute."+oldHost, "compute."+newHost) })

	startCompute := func(host string, version int) *service.Service {
		t.Helper()
		a, _ := runtimeAt(t, conf(host), version)
		if err := a.OpenTransport(ctx); err != nil {
			t.Fatal(err)
		}
		svc, err := a.NewComputeService()
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop(context.Background()) })
		return svc
	}
	oldSvc := startCompute(oldHost, 1)
	startCompute(newHost, ServiceVersion)

	api, apiLog := runtimeAt(t, conf("upg-api"), ServiceVersion)
	if err := api.OpenTransport(ctx); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{oldHost: 1, newHost: ServiceVersion} {
		row, err := api.Services.GetByHostBinary(ctx, host, ComputeBinary)
		if err != nil || row.Version != want {
			t.Fatalf("%s row: version %d, %v; want %d", host, row.Version, err, want)
		}
	}
	client, err := api.ComputeClient()
	if err != nil {
		t.Fatal(err)
	}
	apiSvc, err := api.NewAPIService(client)
	if err != nil {
		t.Fatal(err)
	}
	// What Start runs once the API listens (a process binds the API port
	// once, and TestAPIPortHidesMetricsAndHealthDetail has it).
	if err := api.apiStarted(client)(ctx); err != nil {
		t.Fatal(err)
	}
	if client.VersionCap() != "6.0" {
		t.Fatalf("cap at start = %q, want 6.0 (the old compute's)", client.VersionCap())
	}
	if l := readLog(t, apiLog); !strings.Contains(l, "Automatically selected compute RPC version 6.0 from minimum service version 1") {
		t.Fatalf("the API did not log its choice:\n%s", l)
	}

	wire := tap(t, exchange, oldHost, newHost)
	build := func(host string) computedb.Instance {
		t.Helper()
		in, err := api.Compute.CreateInstance(ctx, computedb.Instance{UUID: uuid.NewString(), DisplayName: "vm", ProjectID: "p", UserID: "u",
			Host: host, VMState: states.VMBuilding, TaskState: states.TaskScheduling, FlavorID: "1", VCPUs: 1, MemoryMB: 64, RootGB: 1, ImageRef: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		if err := client.BuildAndRunInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	active := func(in computedb.Instance) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := api.Compute.GetInstance(ctx, in.UUID)
			if err == nil && got.VMState == states.VMActive {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance on %s never became active: %+v, %v", in.Host, got, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	checkWire := func(want string) {
		t.Helper()
		for range 2 {
			m := nextWire(t, wire)
			if m.Method != "build_and_run_instance" || m.Version != want {
				t.Fatalf("on the wire: %s at %q, want build_and_run_instance at %s", m.Method, m.Version, want)
			}
			if _, ok := m.Args["power_on"]; ok {
				t.Fatalf("power_on sent: %v", m.Args)
			}
		}
	}

	// Mixed: 6.0 to both, and both build (a 6.1 message would be refused by
	// the old compute as UnsupportedVersion).
	a1, a2 := build(oldHost), build(newHost)
	checkWire("6.0")
	active(a1)
	active(a2)

	// Upgrade the old compute: stopped, started again at this release.
	if err := oldSvc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	startCompute(oldHost, ServiceVersion)
	if v, err := api.Services.MinimumVersion(ctx, ComputeBinary); err != nil || v != ServiceVersion {
		t.Fatalf("minimum nova-compute version after the upgrade: %d, %v", v, err)
	}
	if client.VersionCap() != "6.0" {
		t.Fatalf("the cap moved to %q before any reset", client.VersionCap())
	}
	if err := apiSvc.Reset(ctx); err != nil { // SIGHUP
		t.Fatal(err)
	}
	if client.VersionCap() != "6.1" {
		t.Fatalf("cap after Reset = %q, want 6.1", client.VersionCap())
	}
	if l := readLog(t, apiLog); !strings.Contains(l, "Automatically selected compute RPC version 6.1 from minimum service version "+strconv.Itoa(ServiceVersion)) {
		t.Fatalf("the API did not log its new choice:\n%s", l)
	}
	b1, b2 := build(oldHost), build(newHost)
	checkWire("6.1")
	active(b1)
	active(b2)
}

// A compute older than the oldest supported version stops the start of both
// nova-compute and nova-api with nova's message and exit code 2; the
// workaround turns it into a warning.
func TestTooOldComputeRefusesTheStart(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	body := "[DEFAULT]\nhost = h-new\ntransport_url = memory://" + testenv.UniqueName("tooold_") +
		"\n[database]\nconnection = " + dbURL + "\n[api]\nauth_strategy = noauth2\n"
	ctx := context.Background()
	seed, _ := runtimeAt(t, body, ServiceVersion)
	if _, err := seed.Services.Create(ctx, registry.NewService{Host: "h-old", Binary: ComputeBinary, Topic: "compute", Version: 1}); err != nil {
		t.Fatal(err)
	}
	// This release supports version 1: the start goes on.
	if err := seed.checkComputeVersions(); err != nil {
		t.Fatalf("with the supported floor (%d): %v", versions.OldestSupported, err)
	}

	want := "Current Nova version does not support computes older than gonova service version 2 but the minimum compute service level in your system is 1 and the oldest supported service level is 2."
	floor := versions.Floor{Name: "gonova service version 2", Version: 2}
	for _, which := range []string{"nova-compute", "nova-api"} {
		a, _ := runtimeAt(t, body, ServiceVersion)
		a.oldestSupported = floor
		if err := a.OpenTransport(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if which == "nova-compute" {
			_, err = a.NewComputeService()
		} else {
			_, err = a.NewAPIService(nil)
		}
		var tooOld *versions.TooOldComputeError
		if !errors.As(err, &tooOld) || err.Error() != want || app.ExitCode(err) != app.ExitConfig {
			t.Errorf("%s: %v (exit %d); want %q and exit %d", which, err, app.ExitCode(err), want, app.ExitConfig)
		}
	}

	// [workarounds] disable_compute_service_check_for_ffu: a warning, and the
	// service is built.
	a, logPath := runtimeAt(t, body+"[workarounds]\ndisable_compute_service_check_for_ffu = true\n", ServiceVersion)
	a.oldestSupported = floor
	if err := a.OpenTransport(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.NewComputeService(); err != nil {
		t.Fatalf("with the workaround: %v", err)
	}
	if l := readLog(t, logPath); !strings.Contains(l, "level=WARN") || !strings.Contains(l, want) {
		t.Errorf("with the workaround the log lacks the warning:\n%s", l)
	}

	// A deleted or forced-down old row does not count.
	b, _ := runtimeAt(t, body, ServiceVersion)
	b.oldestSupported = floor
	rows, _, err := b.Services.List(ctx, registry.Filter{Host: "h-old"})
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	if err := b.Services.Delete(ctx, rows[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := b.checkComputeVersions(); err != nil {
		t.Errorf("after the old row was deleted: %v", err)
	}
}

// [upgrade_levels] compute reaches the client: a version, a release name,
// auto; a cap gonova cannot use is a configuration error.
func TestUpgradeLevelsComputeConfiguresTheClient(t *testing.T) {
	ctx := context.Background()
	for level, want := range map[string]string{"": "", "6.0": "6.0", "zed": "6.1", "yoga": "6.0", "auto": "6.1"} {
		n := Wrap(runtime(t, "[DEFAULT]\ntransport_url = memory://"+testenv.UniqueName("levels_")+"\n[upgrade_levels]\ncompute = "+level+"\n"))
		if err := n.OpenTransport(ctx); err != nil {
			t.Fatal(err)
		}
		cl, err := n.ComputeClient()
		if err != nil {
			t.Fatalf("%q: %v", level, err)
		}
		if err := cl.Reset(ctx); err != nil || cl.VersionCap() != want {
			t.Errorf("%q: cap %q (%v), want %q", level, cl.VersionCap(), err, want)
		}
	}
	for _, level := range []string{"victoria", "5.0", "antelope"} {
		n := Wrap(runtime(t, "[DEFAULT]\ntransport_url = memory://"+testenv.UniqueName("levels_")+"\n[upgrade_levels]\ncompute = "+level+"\n"))
		if err := n.OpenTransport(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := n.ComputeClient()
		if err == nil || app.ExitCode(err) != app.ExitConfig || !strings.Contains(err.Error(), "[upgrade_levels] compute") {
			t.Errorf("%q: %v (exit %d), want a configuration error", level, err, app.ExitCode(err))
		}
	}
}

// The service version recorded in every row is the last of the history, and
// a compute at it serves rpcapi.Version.
func TestServiceVersionIsTheHistorysLast(t *testing.T) {
	h := versions.History()
	if ServiceVersion != h[len(h)-1].Service || ServiceVersion != 4 {
		t.Fatalf("ServiceVersion = %d, history ends at %d", ServiceVersion, h[len(h)-1].Service)
	}
	n, _ := runtimeAt(t, "[DEFAULT]\nhost = h9\ntransport_url = memory://"+testenv.UniqueName("sv_")+"\n", 0)
	if n.Version() != ServiceVersion {
		t.Fatalf("a runtime of Options records %d", n.Version())
	}
}
