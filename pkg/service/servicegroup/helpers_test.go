package servicegroup_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer captures slog output for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count returns how many records contain s.
func (b *logBuffer) Count(s string) int { return strings.Count(b.String(), s) }

func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("captured log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// faultyStore wraps a real store and injects failures into Report, for the
// cases a real store cannot be made to show on demand (a panic, a report that
// hangs until its context ends).
type faultyStore struct {
	registry.Store
	mu     sync.Mutex
	mode   string // "", "error", "panic", "hang"
	calls  int
	hangOn chan struct{} // closed when a hanging report has started
}

func (f *faultyStore) set(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *faultyStore) Report(ctx context.Context, id int64) (registry.Heartbeat, error) {
	f.mu.Lock()
	mode := f.mode
	f.calls++
	f.mu.Unlock()
	switch mode {
	case "error":
		return registry.Heartbeat{}, errInjected
	case "panic":
		panic("injected panic in Report")
	case "hang":
		close(f.hangOn)
		<-ctx.Done()
		return registry.Heartbeat{}, ctx.Err()
	}
	return f.Store.Report(ctx, id)
}

type injectedError struct{}

func (injectedError) Error() string { return "injected: connection refused" }

var errInjected error = injectedError{}

// eventually polls cond every few milliseconds until it holds or timeout ends.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
