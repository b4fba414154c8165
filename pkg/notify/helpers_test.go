package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if err := testenv.DeleteRabbitVhosts(); err != nil {
			fmt.Fprintln(os.Stderr, "deleting test vhosts:", err)
		}
		os.Exit(code)
	}))
}

// testVhost returns the broker URL (amqp://) of a fresh vhost for t:
// queues are named after the topic alone (notifications.info).
func testVhost(t testing.TB) string { return testenv.RabbitVhost(t) }

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

// pyNotification is one line of `pynotify.py listen`.
type pyNotification struct {
	Priority    string            `json:"priority"`
	PublisherID string            `json:"publisher_id"`
	EventType   string            `json:"event_type"`
	Payload     json.RawMessage   `json:"payload"`
	Metadata    map[string]string `json:"metadata"`
	Ctxt        map[string]any    `json:"ctxt"`
}

// startPyListener runs a Python NotificationListener and returns its
// notifications once it printed READY. It is stopped when the test ends.
func startPyListener(t testing.TB, brokerURL, exchange string, flags ...string) <-chan pyNotification {
	t.Helper()
	testenv.RequirePythonOslo(t)
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{filepath.Join("testdata", "pynotify.py"), "listen", "--url", testenv.OsloURL(brokerURL), "--exchange", exchange}, flags...)
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
	events := make(chan pyNotification, 10000)
	ready := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		seen := false
		for sc.Scan() {
			if !seen {
				if sc.Text() == "READY" {
					seen = true
					close(ready)
				}
				continue
			}
			var n pyNotification
			if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
				_, _ = stderr.Write([]byte("unparsable line: " + sc.Text() + "\n"))
				continue
			}
			events <- n
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() {
		<-readerDone
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
			t.Logf("pynotify.py listen stderr:\n%s", stderr.String())
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("pynotify.py listen exited before READY: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("pynotify.py listen not READY within 60s\n%s", stderr.String())
	}
	return events
}

// pyNotify sends notifications from a Python Notifier.
func pyNotify(t testing.TB, brokerURL, exchange string, flags ...string) {
	t.Helper()
	testenv.RequirePythonOslo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := append([]string{filepath.Join("testdata", "pynotify.py"), "notify", "--url", testenv.OsloURL(brokerURL), "--exchange", exchange}, flags...)
	cmd := exec.CommandContext(ctx, testenv.PythonPath, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`"sent"`)) {
		t.Fatalf("pynotify.py notify: %v\n%s", err, out)
	}
}

func next[T any](t testing.TB, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return v
	case <-time.After(d):
		t.Fatalf("nothing within %v", d)
	}
	var zero T
	return zero
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newTestNotifier(t testing.TB, u string, opts Options) *Notifier {
	t.Helper()
	opts.TransportURL = u
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.PublisherID == "" {
		opts.PublisherID = "compute.gohost"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := NewNotifier(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func newTestSubscriber(t testing.TB, u string, cfg SubscriberConfig) *Subscriber {
	t.Helper()
	cfg.TransportURL = u
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.ControlExchange == "" {
		cfg.ControlExchange = "nova"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := NewSubscriber(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
