package notifications_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/nova"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/testenv"
)

// received is one line of testdata/novalisten.py.
type received struct {
	Priority    string            `json:"priority"`
	PublisherID string            `json:"publisher_id"`
	EventType   string            `json:"event_type"`
	Payload     json.RawMessage   `json:"payload"`
	Metadata    map[string]string `json:"metadata"`
	Decoded     *struct {
		OK      bool           `json:"ok"`
		Class   string         `json:"class"`
		Version string         `json:"version"`
		Unset   []string       `json:"unset"`
		Same    bool           `json:"same"`
		Again   map[string]any `json:"again"`
		Error   string         `json:"error"`
	} `json:"decoded"`
}

// A real flow through gonova's services (a compute started, a server
// created, rebooted and deleted through the API, the compute service
// disabled, forced down and deleted) with notification_format = both: a
// Python oslo.messaging NotificationListener receives every notification
// nova would send, and nova's own classes (python3-nova 26.2.2) decode each
// versioned payload, finding every field set and re-encoding it unchanged.
func TestPythonNovaDecodesGonovasNotifications(t *testing.T) {
	requireParts(t)
	vhostURL := testVhost(t)
	const host = "gonova-notify-host"
	events := startListener(t, vhostURL, "versioned_notifications", "notifications")

	cfg := parseConfig(t, fmt.Sprintf(`[DEFAULT]
host = %s
transport_url = %s
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 0
report_interval = 1
[api]
auth_strategy = noauth2
[gonova]
metrics_listen =
api_metrics_listen =
default_flavors = true
[oslo_messaging_notifications]
driver = messagingv2
[notifications]
notification_format = both
`, host, testenv.OsloURL(vhostURL)))
	ctx := context.Background()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	o := nova.Options("notify-flow-test")
	o.Output = devnull
	rt, err := app.NewFromConfig(ctx, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	a := nova.Wrap(rt)
	defer a.Close()
	if err := a.OpenTransport(ctx); err != nil {
		t.Fatal(err)
	}
	compute, err := a.NewComputeService()
	if err != nil {
		t.Fatal(err)
	}
	client, err := a.ComputeClient()
	if err != nil {
		t.Fatal(err)
	}
	apiSvc, err := a.NewAPIService(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := compute.Start(ctx); err != nil {
		t.Fatal(err)
	}
	computeRunning := true
	defer func() {
		if computeRunning {
			_ = compute.Stop(ctx)
		}
	}()
	if err := apiSvc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = apiSvc.Stop(ctx) }()
	// (A process binds "osapi_compute" once: run this test with -count=1.)
	base := "http://" + apiSvc.Addr().String() + "/v2.1"
	// Heartbeats save the row (report_count, last_seen_up) and send nothing.
	waitFor(t, 30*time.Second, func() bool {
		row, err := a.Services.Get(ctx, compute.Row().ID)
		return err == nil && row.ReportCount >= 2
	})

	// A server: created, rebooted, deleted.
	var created struct{ Server struct{ ID string } }
	call(t, "POST", base+"/servers", "demo:demo", "", `{"server":{"name":"notify-vm","flavorRef":"1","imageRef":"70a599e0-31e7-49b7-b260-868f441e862b","metadata":{"k":"v"}}}`, http.StatusAccepted, &created)
	id := created.Server.ID
	waitStatus(t, base+"/servers/"+id, "ACTIVE")
	call(t, "POST", base+"/servers/"+id+"/action", "demo:demo", "", `{"reboot":{"type":"SOFT"}}`, http.StatusAccepted, nil)
	waitFor(t, 30*time.Second, func() bool {
		var s struct {
			Server map[string]any `json:"server"`
		}
		call(t, "GET", base+"/servers/"+id, "demo:demo", "", "", http.StatusOK, &s)
		return s.Server["status"] == "ACTIVE" && s.Server["OS-EXT-STS:task_state"] == nil
	})
	call(t, "DELETE", base+"/servers/"+id, "demo:demo", "", "", http.StatusNoContent, nil)
	waitFor(t, 30*time.Second, func() bool { return status(t, base+"/servers/"+id) == http.StatusNotFound })

	// The compute service: disabled, forced down, then (stopped and) deleted.
	svcUUID := compute.Row().UUID
	call(t, "PUT", base+"/os-services/"+svcUUID, "admin:admin", "2.53", `{"status":"disabled","disabled_reason":"maintenance"}`, http.StatusOK, nil)
	call(t, "PUT", base+"/os-services/"+svcUUID, "admin:admin", "2.53", `{"forced_down":true}`, http.StatusOK, nil)
	if err := compute.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	computeRunning = false
	call(t, "DELETE", base+"/os-services/"+svcUUID, "admin:admin", "2.53", "", http.StatusNoContent, nil)

	// No compute left: a boot goes to ERROR unscheduled, and its delete is
	// the API's local delete, announced by nova-api.
	var orphan struct{ Server struct{ ID string } }
	call(t, "POST", base+"/servers", "demo:demo", "", `{"server":{"name":"orphan","flavorRef":"1","imageRef":"70a599e0-31e7-49b7-b260-868f441e862b"}}`, http.StatusAccepted, &orphan)
	waitFor(t, 30*time.Second, func() bool {
		var s struct{ Server struct{ Status string } }
		call(t, "GET", base+"/servers/"+orphan.Server.ID, "demo:demo", "", "", http.StatusOK, &s)
		return s.Server.Status == "ERROR"
	})
	call(t, "DELETE", base+"/servers/"+orphan.Server.ID, "demo:demo", "", "", http.StatusNoContent, nil)

	want := []string{
		"service.create", // nova-compute's row
		"service.create", // nova-osapi_compute's row
		"instance.create.start", "instance.create.end",
		"instance.reboot.start", "instance.reboot.end",
		"instance.delete.start", "instance.delete.end",
		"service.update", "service.update", "service.delete",
		"compute.instance.create.start", "compute.instance.create.end",
		"compute.instance.reboot.start", "compute.instance.reboot.end",
		"compute.instance.delete.start", "compute.instance.delete.end",
		// the local delete
		"instance.delete.start", "instance.delete.end", "compute.instance.delete.start", "compute.instance.delete.end",
	}
	var got []received
	deadline := time.After(60 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-events:
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("received %d of %d notifications: %v", len(got), len(want), eventTypes(got))
		}
	}
	if os.Getenv("NOTIFY_DUMP") != "" {
		for _, ev := range got {
			t.Logf("%s %s %s %s", ev.Priority, ev.PublisherID, ev.EventType, ev.Payload)
		}
	}
	// Nothing else comes (heartbeats send no service.update).
	select {
	case ev := <-events:
		t.Errorf("an unexpected notification: %s %s", ev.EventType, ev.Payload)
	case <-time.After(2 * time.Second):
	}
	if g, w := sorted(eventTypes(got)), sorted(want); !slices.Equal(g, w) {
		t.Fatalf("event types:\n  got  %v\n  want %v", g, w)
	}

	versionOf := map[string]string{"service": "ServiceStatusPayload 1.1", "instance.create": "InstanceCreatePayload 1.12",
		"instance.reboot": "InstanceActionPayload 1.8", "instance.delete": "InstanceActionPayload 1.8"}
	var updates []map[string]any
	for _, ev := range got {
		if strings.HasPrefix(ev.EventType, "compute.") {
			checkLegacy(t, ev, host, id, orphan.Server.ID)
			continue
		}
		d := ev.Decoded
		if d == nil || !d.OK {
			t.Errorf("%s: nova does not decode %s: %+v", ev.EventType, ev.Payload, d)
			continue
		}
		key := ev.EventType[:strings.LastIndex(ev.EventType, ".")]
		if strings.HasPrefix(ev.EventType, "service.") {
			key = "service"
		}
		if w := versionOf[key]; d.Class+" "+d.Version != w {
			t.Errorf("%s: nova made a %s %s, want %s", ev.EventType, d.Class, d.Version, w)
		}
		if len(d.Unset) > 0 {
			t.Errorf("%s: nova finds fields unset: %v", ev.EventType, d.Unset)
		}
		if !d.Same {
			again, _ := json.Marshal(d.Again)
			t.Errorf("%s: nova re-encodes it differently:\n  gonova %s\n  nova   %s", ev.EventType, ev.Payload, again)
		}
		if ev.Priority != "info" {
			t.Errorf("%s: priority %s", ev.EventType, ev.Priority)
		}
		var p struct {
			Data map[string]any `json:"nova_object.data"`
		}
		_ = json.Unmarshal(ev.Payload, &p)
		switch {
		case strings.HasPrefix(ev.EventType, "instance.") && p.Data["uuid"] == orphan.Server.ID:
			if ev.PublisherID != "nova-api:"+host || p.Data["host"] != nil ||
				p.Data["state"] != map[string]string{"instance.delete.start": "error", "instance.delete.end": "deleted"}[ev.EventType] {
				t.Errorf("the local delete's %s: publisher %s, payload %s", ev.EventType, ev.PublisherID, ev.Payload)
			}
		case strings.HasPrefix(ev.EventType, "instance."):
			if ev.PublisherID != "nova-compute:"+host || p.Data["uuid"] != id || p.Data["host"] != host {
				t.Errorf("%s: publisher %s, payload %s", ev.EventType, ev.PublisherID, ev.Payload)
			}
			flavor, _ := p.Data["flavor"].(map[string]any)
			fd, _ := flavor["nova_object.data"].(map[string]any)
			if fd["name"] != "m1.tiny" || fd["flavorid"] != "1" || fd["memory_mb"] != 512.0 {
				t.Errorf("%s: flavor %v", ev.EventType, fd)
			}
			wantState := map[string]string{"instance.create.start": "building", "instance.create.end": "active",
				"instance.reboot.start": "active", "instance.reboot.end": "active",
				"instance.delete.start": "active", "instance.delete.end": "deleted"}[ev.EventType]
			if p.Data["state"] != wantState {
				t.Errorf("%s: state %v, want %s", ev.EventType, p.Data["state"], wantState)
			}
			if ev.EventType == "instance.delete.end" && (p.Data["terminated_at"] == nil || p.Data["deleted_at"] == nil) {
				t.Errorf("instance.delete.end without terminated_at/deleted_at: %s", ev.Payload)
			}
			if ev.EventType == "instance.create.end" && (p.Data["launched_at"] == nil || p.Data["power_state"] != "running") {
				t.Errorf("instance.create.end: %s", ev.Payload)
			}
		case p.Data["binary"] == "nova-compute":
			if ev.PublisherID != "nova-compute:"+host || p.Data["uuid"] != svcUUID || p.Data["topic"] != "compute" {
				t.Errorf("%s: publisher %s, payload %s", ev.EventType, ev.PublisherID, ev.Payload)
			}
			if ev.EventType == "service.update" {
				updates = append(updates, p.Data)
			}
		case p.Data["binary"] == "nova-osapi_compute":
			if ev.EventType != "service.create" || ev.PublisherID != "nova-api:"+host || p.Data["topic"] != nil {
				t.Errorf("%s: publisher %s, payload %s", ev.EventType, ev.PublisherID, ev.Payload)
			}
		default:
			t.Errorf("%s: payload %s", ev.EventType, ev.Payload)
		}
	}
	sawDisable, sawForce := false, false
	for _, u := range updates {
		sawDisable = sawDisable || (u["disabled"] == true && u["disabled_reason"] == "maintenance")
		sawForce = sawForce || u["forced_down"] == true
		if n, _ := u["report_count"].(float64); n < 2 || u["last_seen_up"] == nil {
			t.Errorf("service.update without the heartbeats' report_count and last_seen_up: %v", u)
		}
	}
	if !sawDisable || !sawForce {
		t.Errorf("service.update payloads %v: want the disable and the force-down", updates)
	}

	// gonova_notifications_sent_total is on the process's registry.
	for _, et := range []string{"instance.create.end", "compute.instance.create.end", "service.update"} {
		if v := sent(t, a, et); v < 1 {
			t.Errorf("gonova_notifications_sent_total{event_type=%q,outcome=success} = %v", et, v)
		}
	}
}

// checkLegacy checks an unversioned notification: publisher compute.<host>
// and nova's info_from_instance keys (nova/notifications/base.py).
func checkLegacy(t *testing.T, ev received, host, id, orphan string) {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		t.Errorf("%s: %s", ev.EventType, ev.Payload)
		return
	}
	keys := []string{"tenant_id", "user_id", "instance_id", "display_name", "reservation_id", "hostname",
		"instance_type", "instance_type_id", "instance_flavor_id", "architecture", "memory_mb", "disk_gb", "vcpus",
		"root_gb", "ephemeral_gb", "host", "node", "availability_zone", "cell_name", "created_at", "terminated_at",
		"deleted_at", "launched_at", "image_ref_url", "os_type", "kernel_id", "ramdisk_id", "state",
		"state_description", "progress", "access_ip_v4", "access_ip_v6", "image_meta", "metadata"}
	switch ev.EventType {
	case "compute.instance.create.start":
		keys = append(keys, "image_name")
	case "compute.instance.create.end":
		keys = append(keys, "message", "fixed_ips")
	}
	var have []string
	for k := range p {
		have = append(have, k)
	}
	if !slices.Equal(sorted(have), sorted(keys)) {
		t.Errorf("%s keys:\n  got  %v\n  want %v", ev.EventType, sorted(have), sorted(keys))
	}
	if ev.PublisherID != "compute."+host || (p["instance_id"] != id && p["instance_id"] != orphan) || p["instance_type"] != "m1.tiny" || ev.Priority != "info" {
		t.Errorf("%s: publisher %s, payload %s", ev.EventType, ev.PublisherID, ev.Payload)
	}
	if md, _ := p["metadata"].(map[string]any); p["instance_id"] == id && md["k"] != "v" {
		t.Errorf("%s: metadata %v", ev.EventType, p["metadata"])
	}
}

// sent reads gonova_notifications_sent_total{event_type,outcome="success"}
// from the process's registry.
func sent(t *testing.T, a *nova.App, eventType string) float64 {
	t.Helper()
	mfs, err := a.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gonova_notifications_sent_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["event_type"] == eventType && labels["outcome"] == "success" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// requireParts skips (in CI: fails) without RabbitMQ, python3-nova and
// python3-oslo.messaging.
func requireParts(t *testing.T) {
	t.Helper()
	testenv.RequireRabbit(t)
	testenv.RequirePythonModules(t, "run scripts/services.sh (apt-get install python3-nova python3-oslo.messaging)",
		"oslo_messaging", "nova.objects")
}

func eventTypes(evs []received) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func parseConfig(t *testing.T, body string) *config.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "nova.conf")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.ParseWith([]string{"--config-file", f}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

func call(t *testing.T, method, u, token, microversion, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if microversion != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+microversion)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, u, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, u, b, err)
		}
	}
}

func status(t *testing.T, u string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("X-Auth-Token", "demo:demo")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitStatus(t *testing.T, u, want string) {
	t.Helper()
	waitFor(t, 30*time.Second, func() bool {
		var s struct{ Server struct{ Status string } }
		call(t, "GET", u, "demo:demo", "", "", http.StatusOK, &s)
		if s.Server.Status == "ERROR" {
			t.Fatalf("server went to ERROR")
		}
		return s.Server.Status == want
	})
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testVhost is a RabbitMQ virtual host of the test's own (notification
// queues are named after their topic alone).
func testVhost(t *testing.T) string { return testenv.RabbitVhost(t) }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startListener runs testdata/novalisten.py on topics and returns its
// notifications once it is READY; it stops when the test ends.
func startListener(t *testing.T, brokerURL string, topics ...string) <-chan received {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{filepath.Join("testdata", "novalisten.py"), "--url", testenv.OsloURL(brokerURL), "--exchange", "nova"}
	for _, tp := range topics {
		args = append(args, "--topic", tp)
	}
	cmd := exec.CommandContext(ctx, testenv.PythonPath, args...)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	events := make(chan received, 1000)
	ready := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		seen := false
		for sc.Scan() {
			if !seen {
				if sc.Text() == "READY" {
					seen = true
					close(ready)
				}
				continue
			}
			var r received
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				_, _ = stderr.Write([]byte("unparsable line: " + sc.Text() + "\n"))
				continue
			}
			events <- r
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cancel()
			<-exited
		}
		cancel()
		if t.Failed() {
			t.Logf("novalisten.py stderr:\n%s", stderr.String())
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("novalisten.py exited before READY: %v\n%s", err, stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("novalisten.py not READY within 90s\n%s", stderr.String())
	}
	return events
}
