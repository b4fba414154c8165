package notify

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// privateBroker is a RabbitMQ node of the test's own (its own node name,
// ports and data directory), so that the test can restart it: the shared
// broker is never stopped.
type privateBroker struct {
	node string
	url  string
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startPrivateBroker(t *testing.T) *privateBroker {
	t.Helper()
	testenv.RequireRabbit(t) // the installation the private node runs from
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		if testenv.InCI() {
			t.Fatalf("rabbitmq-server is required in CI for broker restarts: %v", err)
		}
		t.Skipf("rabbitmq-server not available: %v", err)
	}
	dir, err := os.MkdirTemp("", "gonova-notify-rmq-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	port, dist := freePort(t), freePort(t)
	for name, body := range map[string]string{"enabled_plugins": "", "rabbitmq.conf": fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\n", port)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// rabbitmq-server drops to the rabbitmq user when started as root.
	if u, err := user.Lookup("rabbitmq"); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = os.Chmod(dir, 0o755)
		_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
	}
	b := &privateBroker{node: testenv.UniqueName("gonova_notify_") + "@localhost", url: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port)}
	pid := filepath.Join(dir, "pid")
	cmd := exec.Command("rabbitmq-server", "-detached")
	cmd.Env = append(os.Environ(),
		"RABBITMQ_NODENAME="+b.node,
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+pid,
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"),
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starting a private RabbitMQ node: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := rabbitmqctl("-n", b.node, "stop"); err != nil {
			t.Errorf("stopping the private node %s: %v", b.node, err)
		}
	})
	if err := rabbitmqctl("-n", b.node, "wait", pid, "--timeout", "90"); err != nil {
		t.Fatalf("private node %s did not start: %v", b.node, err)
	}
	return b
}

// restart stops and starts the node's RabbitMQ application: every
// connection drops, non-durable queues go, durable ones come back.
func (b *privateBroker) restart(t *testing.T) {
	t.Helper()
	if err := rabbitmqctl("-n", b.node, "stop_app"); err != nil {
		t.Fatal(err)
	}
	if err := rabbitmqctl("-n", b.node, "start_app"); err != nil {
		t.Fatal(err)
	}
}

// A broker restart loses no confirmed notification with
// amqp_durable_queues, including those sent while it restarts; with oslo's
// default (non-durable queues) the waiting ones are gone, as documented, and
// notifying works again afterwards.
func TestBrokerRestart(t *testing.T) {
	b := startPrivateBroker(t)
	ctx := context.Background()

	t.Run("durable", func(t *testing.T) {
		opts := Options{Drivers: []string{DriverMessagingV2}, Retry: -1, DurableQueues: true, Topics: []string{"durable_notifications"}}
		n := newTestNotifier(t, b.url, opts)
		const before, during = 100, 100
		for i := 0; i < before; i++ {
			if err := n.Info(ctx, "test.restart", i); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			for i := before; i < before+during; i++ {
				if err := n.Info(sctx, "test.restart", i); err != nil {
					errs <- err
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		b.restart(t)
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatalf("Notify across the restart: %v", err)
		default:
		}
		sub := newTestSubscriber(t, b.url, SubscriberConfig{DurableQueues: true})
		ch, err := sub.Subscribe(ctx, "durable_notifications.info")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for len(got) < before+during {
			m := next(t, ch, 20*time.Second)
			got[string(m.Payload)] = true
			m.Ack()
		}
	})

	t.Run("non-durable", func(t *testing.T) {
		// Its own exchange: "nova" is durable on this broker now.
		opts := Options{Drivers: []string{DriverMessagingV2}, Retry: -1, Topics: []string{"plain_notifications"}, ControlExchange: "nova_plain"}
		n := newTestNotifier(t, b.url, opts)
		for i := 0; i < 50; i++ {
			if err := n.Info(ctx, "test.restart", i); err != nil {
				t.Fatal(err)
			}
		}
		b.restart(t)
		sub := newTestSubscriber(t, b.url, SubscriberConfig{ControlExchange: "nova_plain"})
		ch, err := sub.Subscribe(ctx, "plain_notifications.info")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-ch:
			t.Fatalf("a notification %s survived the restart of a non-durable queue", m.Payload)
		case <-time.After(time.Second):
		}
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := n.Info(sctx, "test.restart", "after"); err != nil {
			t.Fatal(err)
		}
		if m := next(t, ch, 20*time.Second); string(m.Payload) != `"after"` {
			t.Errorf("got %s", m.Payload)
		} else {
			m.Ack()
		}
	})
}
