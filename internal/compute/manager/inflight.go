package manager

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// errShuttingDown refuses work that arrives once Shutdown has begun. It is
// Retryable, so a cast that slipped in is returned to its queue for the next
// compute process instead of being dropped.
var errShuttingDown = errors.New("compute manager is shutting down")

// inflight tracks the handlers that are running, so that Shutdown can wait
// for them and name the ones still running when its deadline passes. Add is
// only called under mu while not closing, so no Add races the Wait.
type inflight struct {
	clock clock.Clock

	mu      sync.Mutex
	closing bool
	next    uint64
	ops     map[uint64]*op
	wg      sync.WaitGroup
}

type op struct {
	method   string
	instance string
	started  time.Time
	cancel   context.CancelFunc
}

func newInflight(c clock.Clock) *inflight {
	return &inflight{clock: c, ops: map[uint64]*op{}}
}

// begin registers one handler run and returns its context (cancelled when
// Shutdown gives up on it) and the function that ends it.
func (f *inflight) begin(ctx context.Context, method, instance string) (context.Context, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return nil, nil, rpcsvc.Retryable(fmt.Errorf("%s of instance %s: %w", method, instance, errShuttingDown))
	}
	ctx, cancel := context.WithCancel(ctx)
	f.next++
	id := f.next
	f.ops[id] = &op{method: method, instance: instance, started: f.clock.Now(), cancel: cancel}
	f.wg.Add(1)
	return ctx, func() {
		f.mu.Lock()
		delete(f.ops, id)
		f.mu.Unlock()
		cancel()
		f.wg.Done()
	}, nil
}

// shutdown refuses new work, waits for running work until ctx ends, and then
// cancels what is left and returns an error naming it.
func (f *inflight) shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()

	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}

	f.mu.Lock()
	left := make([]string, 0, len(f.ops))
	for _, o := range f.ops {
		left = append(left, fmt.Sprintf("%s(instance %s, running %s)", o.method, o.instance, f.clock.Since(o.started).Round(time.Millisecond)))
		o.cancel()
	}
	f.mu.Unlock()
	sort.Strings(left)
	// The cancelled handlers end on their own; the waiter goroutine above
	// ends with them.
	return fmt.Errorf("compute manager: %d operation(s) still running when the shutdown deadline passed (%w), cancelled: %s",
		len(left), ctx.Err(), strings.Join(left, ", "))
}

// running returns how many handlers run now.
func (f *inflight) running() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ops)
}
