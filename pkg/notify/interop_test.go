package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// A Python oslo.messaging NotificationListener receives gonova's
// notifications, in both formats, with their fields and context.
func TestPythonListenerReceivesGonovaNotifications(t *testing.T) {
	for _, driver := range []string{DriverMessagingV2, DriverMessaging} {
		t.Run(driver, func(t *testing.T) {
			u := testVhost(t)
			events := startPyListener(t, u, "nova", "--topic", "notifications", "--priorities", "info,error")
			n := newTestNotifier(t, u, Options{Drivers: []string{driver}, ControlExchange: "nova", Retry: -1})
			ctx := rpcsvc.NewContext(context.Background(), rpcsvc.Context{RequestID: "req-go-1", UserID: "u1", ProjectID: "p1",
				Extra: map[string]json.RawMessage{"auth_token": json.RawMessage(`"secret"`)}})
			if err := n.Info(ctx, "compute.instance.create.end", map[string]any{"instance_id": "i-1", "state": "active"}); err != nil {
				t.Fatal(err)
			}
			if err := n.Prepare("compute.otherhost").Error(ctx, "compute.instance.create.error", json.RawMessage(`{"code":500}`)); err != nil {
				t.Fatal(err)
			}
			got := map[string]pyNotification{}
			for len(got) < 2 {
				ev := next(t, events, 30*time.Second)
				got[ev.EventType] = ev
			}
			info := got["compute.instance.create.end"]
			if info.Priority != "info" || info.PublisherID != "compute.gohost" || string(info.Payload) != `{"instance_id": "i-1", "state": "active"}` {
				t.Errorf("info = %+v", info)
			}
			if info.Metadata["message_id"] == "" || len(info.Metadata["timestamp"]) < len("2026-12-01 10:00:00") {
				t.Errorf("metadata = %v", info.Metadata)
			}
			if info.Ctxt["request_id"] != "req-go-1" || info.Ctxt["project_id"] != "p1" {
				t.Errorf("context = %v", info.Ctxt)
			}
			if _, ok := info.Ctxt["auth_token"]; ok {
				t.Errorf("auth_token reached the listener: %v", info.Ctxt)
			}
			errEv := got["compute.instance.create.error"]
			if errEv.Priority != "error" || errEv.PublisherID != "compute.otherhost" || string(errEv.Payload) != `{"code": 500}` {
				t.Errorf("error = %+v", errEv)
			}
		})
	}
}

// A gonova Listener receives a Python Notifier's notifications (both
// drivers) and decodes them.
func TestGonovaListenerReceivesPythonNotifications(t *testing.T) {
	for _, driver := range []string{DriverMessagingV2, DriverMessaging} {
		t.Run(driver, func(t *testing.T) {
			u := testVhost(t)
			sub := newTestSubscriber(t, u, SubscriberConfig{ControlExchange: "nova"})
			var mu sync.Mutex
			var got []*Notification
			var ctxs []rpcsvc.Context
			handler := func(ctx context.Context, n *Notification) Result {
				rc, _ := rpcsvc.ContextFrom(ctx)
				mu.Lock()
				got = append(got, n)
				ctxs = append(ctxs, rc)
				mu.Unlock()
				return Handled
			}
			l, err := NewListener(sub, []string{"notifications"}, Endpoint{Handlers: map[Priority]Handler{Warn: handler}})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer l.Stop()
			pyNotify(t, u, "nova", "--driver", driver, "--priority", "warn", "--count", "3", "--publisher-id", "conductor.pyhost",
				"--event-type", "compute.instance.update", "--payload", `{"state":"building"}`, "--request-id", "req-py-1")
			waitFor(t, 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 })
			mu.Lock()
			defer mu.Unlock()
			seen := map[float64]bool{}
			for i, n := range got {
				var p struct {
					State string  `json:"state"`
					I     float64 `json:"i"`
				}
				if err := json.Unmarshal(n.Payload, &p); err != nil || p.State != "building" {
					t.Errorf("payload %s: %v", n.Payload, err)
				}
				seen[p.I] = true
				if n.Priority != Warn || n.PublisherID != "conductor.pyhost" || n.EventType != "compute.instance.update" || n.MessageID == "" || n.Timestamp.IsZero() {
					t.Errorf("notification %+v", n)
				}
				if time.Since(n.Timestamp) > time.Minute || time.Since(n.Timestamp) < -time.Minute {
					t.Errorf("timestamp %v is not now in UTC", n.Timestamp)
				}
				if ctxs[i].RequestID != "req-py-1" || ctxs[i].ProjectID != "p1" {
					t.Errorf("context %+v", ctxs[i])
				}
			}
			if len(seen) != 3 {
				t.Errorf("payload indexes %v", seen)
			}
		})
	}
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With amqp_durable_queues the notifier declares the exchange and queue
// durable, as a Python listener with the same setting does: they share the
// queue, and notifications sent before the listener started wait in it.
func TestDurableQueuesMatchPython(t *testing.T) {
	u := testVhost(t)
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1, DurableQueues: true})
	if err := n.Info(context.Background(), "test.durable", "before-listener"); err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	out, err := exec.Command("rabbitmqctl", "list_queues", "-q", "-p", strings.TrimPrefix(pu.Path, "/"), "name", "durable").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_queues: %v: %s", err, out)
	}
	if !regexp.MustCompile(`(?m)^notifications\.info\s+true$`).Match(out) {
		t.Errorf("notifications.info is not durable:\n%s", out)
	}
	events := startPyListener(t, u, "nova", "--topic", "notifications", "--priorities", "info", "--durable")
	if ev := next(t, events, 30*time.Second); string(ev.Payload) != `"before-listener"` || ev.EventType != "test.durable" {
		t.Errorf("python got %+v", ev)
	}
	if err := n.Info(context.Background(), "test.durable", "after"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events, 30*time.Second); string(ev.Payload) != `"after"` {
		t.Errorf("python got %+v", ev)
	}
}

// With rabbit_quorum_queue and its limits the notifier declares
// `notifications.info` with the arguments oslo.messaging 14.0.3 declares
// (x-queue-type, x-delivery-limit, x-max-in-memory-*): a Python listener
// with the same options shares the queue and gets what was sent before it
// started.
func TestQuorumQueueOptionsMatchPython(t *testing.T) {
	u := testVhost(t)
	qo := QueueOptions{QuorumDeliveryLimit: 5, QuorumMaxMemoryLength: 100, QuorumMaxMemoryBytes: 1 << 20}
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1, QuorumQueue: true, QueueOptions: qo})
	if err := n.Info(context.Background(), "test.quorum", "before-listener"); err != nil {
		t.Fatal(err)
	}
	var info *testenv.RabbitEntity
	qs := testenv.RabbitQueues(t, testenv.VhostOf(t, u))
	for i := range qs {
		if qs[i].Name == "notifications.info" {
			info = &qs[i]
		}
	}
	want := "[x-delivery-limit=signedint:5 x-max-in-memory-bytes=signedint:1048576 x-max-in-memory-length=signedint:100 x-queue-type=longstr:quorum]"
	if info == nil || info.Type != "quorum" || !info.Durable || fmt.Sprint(info.Arguments) != want {
		t.Fatalf("notifications.info: %+v, want a durable quorum queue with %s", info, want)
	}
	conf := filepath.Join(t.TempDir(), "nova.conf")
	// 14.0.3 spells the memory options rabbit_quroum_* (renamed in 2023.1).
	body := "[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\nrabbit_quorum_delivery_limit = 5\nrabbit_quroum_max_memory_length = 100\nrabbit_quroum_max_memory_bytes = 1048576\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	events := startPyListener(t, u, "nova", "--topic", "notifications", "--priorities", "info", "--config-file", conf)
	if ev := next(t, events, 30*time.Second); string(ev.Payload) != `"before-listener"` || ev.EventType != "test.quorum" {
		t.Errorf("python got %+v", ev)
	}
}

// A watermill message published through NewPublisher reaches a Python
// listener as a notification, with the metadata's fields and context.
func TestWatermillPublisherToPythonListener(t *testing.T) {
	u := testVhost(t)
	events := startPyListener(t, u, "nova", "--topic", "versioned_notifications", "--priorities", "error")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := NewPublisher(ctx, Options{TransportURL: u, Retry: -1, PublisherID: "nova-compute:gohost", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	msg := message.NewMessage(watermill.NewUUID(), []byte(`{"nova_object.name":"ExceptionPayload"}`))
	msg.Metadata.Set(MetaEventType, "compute.exception")
	msg.Metadata.Set(MetaContext, `{"request_id":"req-wm-1","user_id":"u9"}`)
	if err := pub.Publish("versioned_notifications.error", msg); err != nil {
		t.Fatal(err)
	}
	ev := next(t, events, 30*time.Second)
	if ev.Priority != "error" || ev.EventType != "compute.exception" || ev.PublisherID != "nova-compute:gohost" ||
		ev.Metadata["message_id"] != msg.UUID || ev.Ctxt["request_id"] != "req-wm-1" || string(ev.Payload) != `{"nova_object.name": "ExceptionPayload"}` {
		t.Errorf("python got %+v", ev)
	}
	if err := pub.Publish("versioned_notifications"); err != nil {
		t.Errorf("no messages: %v", err)
	}
	if err := pub.Publish("versioned_notifications", message.NewMessage("x", []byte("1"))); err == nil {
		t.Error("a topic without a priority accepted")
	}
	bad := message.NewMessage("y", []byte("1"))
	if err := pub.Publish("versioned_notifications.info", bad); err == nil {
		t.Error("a message without event_type accepted")
	}
}
