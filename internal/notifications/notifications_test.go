package notifications_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// Without a driver (nova's default), or with noop only, there is no
// notifier: nothing connects, nothing is built, the services store is not
// wrapped, and the nil Notifier's methods do nothing.
func TestNoDriverSendsNothing(t *testing.T) {
	for _, conf := range []string{
		"[notifications]\nnotification_format = both\n",
		"[oslo_messaging_notifications]\ndriver = noop\n[notifications]\nnotification_format = both\n",
	} {
		// An unreachable broker: a notifier that tried to connect would fail.
		cfg := parseConfig(t, "[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:1/\n"+conf)
		n, err := notifications.New(context.Background(), cfg, notifications.Options{Host: "h"})
		if err != nil || n != nil {
			t.Fatalf("%q: New = %v, %v; want nil, nil", conf, n, err)
		}
		s := memstore.New(nil)
		if notifications.ServiceStore(s, n) != registry.Store(s) {
			t.Errorf("the store is wrapped without a notifier")
		}
		n.Instance(context.Background(), notifications.CreateEnd, computedb.Instance{UUID: "x"}, nil)
		n.InstanceByUUID(context.Background(), notifications.CreateEnd, "x", nil)
		n.Rebooted(context.Background(), "x", nil, true)
		n.Service(context.Background(), "update", registry.Service{})
		if n.As(notifications.SourceAPI) != nil || n.Close() != nil {
			t.Error("nil Notifier")
		}
	}
}

// The error phases and the API's publisher, judged by nova: ExceptionPayload
// with nova's exception class when the error has one, priority error, the
// request context's request id and initiator; the legacy error carries
// nova's exception, message and code.
func TestPythonNovaDecodesErrorNotifications(t *testing.T) {
	requireParts(t)
	vhostURL := testVhost(t)
	events := startListener(t, vhostURL, "versioned_notifications", "notifications")
	cfg := parseConfig(t, fmt.Sprintf("[DEFAULT]\ntransport_url = %s\n[oslo_messaging_notifications]\ndriver = messagingv2\n[notifications]\nnotification_format = both\n", testenv.OsloURL(vhostURL)))
	n, err := notifications.New(context.Background(), cfg, notifications.Options{Host: "h1"})
	if err != nil || n == nil {
		t.Fatalf("New = %v, %v", n, err)
	}
	defer n.Close()
	now := time.Date(2026, 12, 1, 8, 30, 15, 0, time.UTC)
	inst := computedb.Instance{ID: 7, UUID: "7bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b12", DisplayName: "vm", UserID: "u", ProjectID: "p",
		Host: "h1", Node: "h1", VMState: states.VMError, PowerState: states.PowerNoState, FlavorID: "42", VCPUs: 1, MemoryMB: 64, RootGB: 1,
		ImageRef: "8bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b13", CreatedAt: now}
	ctx := rpcsvc.NewContext(context.Background(), rpcsvc.Context{RequestID: "req-1", UserID: "u", ProjectID: "p"})
	n.Instance(ctx, notifications.CreateError, inst, fmt.Errorf("spawn: %w", &rpcapi.InstanceNotFoundError{UUID: inst.UUID}))
	inst.VMState, inst.PowerState = states.VMActive, states.PowerRunning
	n.Instance(ctx, notifications.RebootError, inst, errors.New("the guest did not answer"))
	n.As(notifications.SourceAPI).Instance(ctx, notifications.DeleteStart, inst, nil)

	got := map[string]received{}
	for len(got) < 5 {
		select {
		case ev := <-events:
			got[ev.EventType] = ev
		case <-time.After(60 * time.Second):
			t.Fatalf("received %v", got)
		}
	}
	for et, ev := range got {
		if ev.Decoded == nil {
			continue // legacy
		}
		if d := ev.Decoded; !d.OK || len(d.Unset) > 0 || !d.Same {
			again, _ := json.Marshal(d.Again)
			t.Errorf("%s: nova: %+v\n  gonova %s\n  nova   %s", et, d, ev.Payload, again)
		}
	}
	var p struct {
		Data struct {
			Fault struct {
				Data map[string]any `json:"nova_object.data"`
			} `json:"fault"`
			RequestID string `json:"request_id"`
			Initiator string `json:"action_initiator_user"`
			Flavor    struct {
				Data map[string]any `json:"nova_object.data"`
			} `json:"flavor"`
		} `json:"nova_object.data"`
	}
	ce := got["instance.create.error"]
	_ = json.Unmarshal(ce.Payload, &p)
	if ce.Priority != "error" || ce.PublisherID != "nova-compute:h1" || p.Data.RequestID != "req-1" || p.Data.Initiator != "u" ||
		p.Data.Fault.Data["exception"] != "InstanceNotFound" || p.Data.Fault.Data["function_name"] != "_build_and_run_instance" {
		t.Errorf("instance.create.error: %s %s %s", ce.Priority, ce.PublisherID, ce.Payload)
	}
	// A flavor the catalog does not have: what the row has, no invented name.
	if p.Data.Flavor.Data["flavorid"] != "42" || p.Data.Flavor.Data["memory_mb"] != 64.0 || p.Data.Flavor.Data["name"] != "" {
		t.Errorf("flavor %v", p.Data.Flavor.Data)
	}
	re := got["instance.reboot.error"]
	_ = json.Unmarshal(re.Payload, &p)
	if re.Priority != "error" || p.Data.Fault.Data["exception"] != "Exception" || p.Data.Fault.Data["exception_message"] != "the guest did not answer" ||
		p.Data.Fault.Data["function_name"] != "reboot_instance" {
		t.Errorf("instance.reboot.error: %s %s", re.Priority, re.Payload)
	}
	if ds := got["instance.delete.start"]; ds.PublisherID != "nova-api:h1" || ds.Priority != "info" {
		t.Errorf("the API's delete.start: %s %s", ds.PublisherID, ds.Priority)
	}
	var legacy map[string]any
	le := got["compute.instance.create.error"]
	_ = json.Unmarshal(le.Payload, &legacy)
	if le.Priority != "error" || le.PublisherID != "compute.h1" || legacy["code"] != 500.0 ||
		legacy["message"] == nil || legacy["exception"] != legacy["message"] {
		t.Errorf("compute.instance.create.error: %s %s %s", le.Priority, le.PublisherID, le.Payload)
	}
}

// A disabled notifier costs nothing on the paths that call it.
func BenchmarkDisabledNotifier(b *testing.B) {
	var n *notifications.Notifier
	ctx := context.Background()
	inst := computedb.Instance{UUID: "7bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b12"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		n.Instance(ctx, notifications.CreateEnd, inst, nil)
	}
}

// nova's Service.save rule: service.update only when disabled,
// disabled_reason or forced_down change; a version bump or a heartbeat
// sends nothing. (The log driver shows what would be sent.)
func TestServiceStoreSendsWhatNovaSends(t *testing.T) {
	cfg := parseConfig(t, "[oslo_messaging_notifications]\ndriver = log\n[notifications]\nnotification_format = versioned\n")
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	n, err := notifications.New(context.Background(), cfg, notifications.Options{Host: "h", Logger: log})
	if err != nil || n == nil {
		t.Fatalf("New = %v, %v", n, err)
	}
	ctx := context.Background()
	s := notifications.ServiceStore(memstore.New(nil), n)
	count := func() int { return strings.Count(buf.String(), "logger=oslo.messaging.notification.service.") }
	row, err := s.Create(ctx, registry.NewService{Host: "h", Binary: registry.BinaryCompute, Topic: "compute", Version: 1})
	if err != nil || count() != 1 || !strings.Contains(buf.String(), "notification.service.create") {
		t.Fatalf("create: %v\n%s", err, buf.String())
	}
	v := 2
	if _, err := s.Update(ctx, row.ID, registry.Update{Version: &v}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report(ctx, row.ID); err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Fatalf("a version bump or a heartbeat sent a notification:\n%s", buf.String())
	}
	yes := true
	if _, err := s.Update(ctx, row.ID, registry.Update{ForcedDown: &yes}); err != nil || count() != 2 || !strings.Contains(buf.String(), "notification.service.update") {
		t.Fatalf("forced_down: %v\n%s", err, buf.String())
	}
	if err := s.Delete(ctx, row.ID); err != nil || count() != 3 || !strings.Contains(buf.String(), "notification.service.delete") {
		t.Fatalf("delete: %v\n%s", err, buf.String())
	}
	// A binary nova has no notification source for sends nothing.
	if _, err := s.Create(ctx, registry.NewService{Host: "h", Binary: "greeter", Topic: "greeter"}); err != nil || count() != 3 {
		t.Fatalf("greeter: %v\n%s", err, buf.String())
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if err := testenv.DeleteRabbitVhosts(); err != nil {
			fmt.Fprintln(os.Stderr, "deleting test vhosts:", err)
		}
		os.Exit(code)
	}))
}
