package periodic

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/clock/clocktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logRecord is one captured slog record with its attributes flattened.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// logRecorder is a slog.Handler that keeps every record for assertions.
type logRecorder struct {
	mu      *sync.Mutex
	records *[]logRecord
	pre     []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, records: &[]logRecord{}}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.pre {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.pre = append(append([]slog.Attr{}, h.pre...), as...)
	return &c
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// find returns the records with the given message and, if task is not empty,
// that task attribute.
func (h *logRecorder) find(msg, task string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.records {
		if r.msg == msg && (task == "" || r.attrs["task"] == task) {
			out = append(out, r)
		}
	}
	return out
}

// harness bundles what every runner test needs.
type harness struct {
	t    *testing.T
	clk  *clocktest.Fake
	logs *logRecorder
	reg  *prometheus.Registry
	opts Options
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:    t,
		clk:  clocktest.New(clocktest.Epoch),
		logs: newLogRecorder(),
		reg:  prometheus.NewPedanticRegistry(),
	}
	h.opts = DefaultOptions()
	h.opts.Clock = h.clk
	h.opts.Logger = slog.New(h.logs)
	h.opts.Jitter = NoDelay
	return h
}

func (h *harness) setup(ts *Tasks) *Runner {
	h.t.Helper()
	r, err := ts.Setup(h.reg, h.opts)
	if err != nil {
		h.t.Fatalf("Setup: %v", err)
	}
	return r
}

// counter counts the runs of a task, concurrency-safe.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) fn(err error) Func {
	return func(context.Context) error {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return err
	}
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func expectRuns(t *testing.T, what string, c *counter, want int) {
	t.Helper()
	if got := c.get(); got != want {
		t.Fatalf("%s: ran %d times, want %d", what, got, want)
	}
}

func expectIdle(t *testing.T, got, want time.Duration) {
	t.Helper()
	if got != want {
		t.Fatalf("idle = %v, want %v", got, want)
	}
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
