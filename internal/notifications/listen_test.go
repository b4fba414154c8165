package notifications_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/notify"
	"github.com/gonova/gonova/pkg/ovo/novaobj"
	"github.com/gonova/gonova/pkg/testenv"
)

// A gonova listener receives what a Python nova sends: a service.update
// whose ServiceStatusPayload nova's own classes built, published by
// oslo.messaging's Notifier, decoded into novaobj's Go type.
func TestGonovaListenerDecodesPythonNovasServiceUpdate(t *testing.T) {
	requireParts(t)
	brokerURL := testVhost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := notify.NewSubscriber(ctx, notify.SubscriberConfig{TransportURL: brokerURL, ControlExchange: "nova"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan *notify.Notification, 4)
	l, err := notify.NewListener(sub, []string{"versioned_notifications"}, notify.Endpoint{
		Handlers: map[notify.Priority]notify.Handler{notify.Info: func(_ context.Context, n *notify.Notification) notify.Result {
			got <- n
			return notify.Handled
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()

	service := map[string]any{
		"id": 7, "uuid": "4f0f2ab4-5fb0-4c4e-9f1c-9d5c0f7b7a11", "host": "py-compute", "binary": "nova-compute",
		"topic": "compute", "report_count": 42, "disabled": true, "disabled_reason": "maintenance",
		"last_seen_up": "2026-12-01T10:00:00Z", "forced_down": false, "version": 64,
	}
	in, _ := json.Marshal(service)
	cmd := exec.CommandContext(ctx, testenv.PythonPath, filepath.Join("testdata", "novanotify.py"),
		"--url", testenv.OsloURL(brokerURL), "--exchange", "nova")
	cmd.Stdin = strings.NewReader(string(in))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "SENT") {
		t.Fatalf("novanotify.py: %v\n%s", err, out)
	}

	var n *notify.Notification
	select {
	case n = <-got:
	case <-ctx.Done():
		t.Fatal("no notification reached the gonova listener")
	}
	if n.EventType != "service.update" || n.PublisherID != "nova-compute:py-compute" || n.Priority != notify.Info {
		t.Fatalf("notification %s from %s at %s", n.EventType, n.PublisherID, n.Priority)
	}
	var p novaobj.ServiceStatusPayload
	h, err := novaobj.Registry.UnmarshalInto(n.Payload, &p)
	if err != nil {
		t.Fatalf("decoding nova's payload: %v\n%s", err, n.Payload)
	}
	if h.Name != "ServiceStatusPayload" || h.Version != "1.1" {
		t.Errorf("payload is %s %s, want ServiceStatusPayload 1.1", h.Name, h.Version)
	}
	str := func(s *string) string {
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	if str(p.Host) != "py-compute" || str(p.Binary) != "nova-compute" || str(p.Topic) != "compute" ||
		p.ReportCount != 42 || !p.Disabled || str(p.DisabledReason) != "maintenance" || p.ForcedDown ||
		p.Version != 64 || p.UUID != "4f0f2ab4-5fb0-4c4e-9f1c-9d5c0f7b7a11" ||
		p.LastSeenUp == nil || !p.LastSeenUp.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("decoded %+v (host %s, binary %s, reason %s)", p, str(p.Host), str(p.Binary), str(p.DisabledReason))
	}
}
