package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
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
		deleteVhosts()
		os.Exit(code)
	}))
}

// Vhosts: queues are named after the topic alone (notifications.info), so
// each test gets a virtual host of its own. rabbitmqctl takes seconds per
// call, so vhosts are made in batches by one `rabbitmqctl eval`, and deleted
// together when the package's tests end.
var vhosts struct {
	sync.Mutex
	free    []string
	created []string
}

const vhostBatch = 16

func rabbitmqctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v: %s", args[0], err, out)
	}
	return nil
}

func erlBinaries(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `<<"` + n + `">>`
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// testVhost returns the broker URL (amqp://) of a fresh vhost for t.
func testVhost(t testing.TB) string {
	t.Helper()
	testenv.RequireRabbit(t)
	vhosts.Lock()
	defer vhosts.Unlock()
	if len(vhosts.free) == 0 {
		if _, err := exec.LookPath("rabbitmqctl"); err != nil {
			if testenv.InCI() {
				t.Fatalf("rabbitmqctl is required in CI to make test vhosts: %v", err)
			}
			t.Skipf("rabbitmqctl not available to make test vhosts: %v", err)
		}
		prefix := testenv.UniqueName("gonova_notify_")
		var batch []string
		for i := 0; i < vhostBatch; i++ {
			batch = append(batch, fmt.Sprintf("%s_%d", prefix, i))
		}
		err := rabbitmqctl("eval", `lists:foreach(fun(N) -> ok = rabbit_vhost:add(N, <<"gonova-test">>), `+
			`ok = rabbit_auth_backend_internal:set_permissions(<<"guest">>, N, <<".*">>, <<".*">>, <<".*">>, <<"gonova-test">>) end, `+
			erlBinaries(batch)+`), ok.`)
		if err != nil {
			t.Fatalf("making test vhosts: %v", err)
		}
		vhosts.free = batch
		vhosts.created = append(vhosts.created, batch...)
	}
	v := vhosts.free[0]
	vhosts.free = vhosts.free[1:]
	u, err := url.Parse(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + v
	return u.String()
}

func deleteVhosts() {
	vhosts.Lock()
	defer vhosts.Unlock()
	if len(vhosts.created) == 0 {
		return
	}
	if err := rabbitmqctl("eval", `lists:foreach(fun(N) -> rabbit_vhost:delete(N, <<"gonova-test">>) end, `+erlBinaries(vhosts.created)+`), ok.`); err != nil {
		fmt.Fprintln(os.Stderr, "deleting test vhosts:", err)
	}
	vhosts.created = nil
}

// pythonURL is u in oslo's spelling (rabbit://).
func pythonURL(u string) string {
	for _, scheme := range []string{"amqp://", "amqps://"} {
		if strings.HasPrefix(u, scheme) {
			return "rabbit://" + strings.TrimPrefix(u, scheme)
		}
	}
	return u
}

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
	args := append([]string{filepath.Join("testdata", "pynotify.py"), "listen", "--url", pythonURL(brokerURL), "--exchange", exchange}, flags...)
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
	args := append([]string{filepath.Join("testdata", "pynotify.py"), "notify", "--url", pythonURL(brokerURL), "--exchange", exchange}, flags...)
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
