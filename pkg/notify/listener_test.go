package notify

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collector counts the notifications a listener handled, by payload.
type collector struct {
	mu   sync.Mutex
	seen map[string]int
	n    atomic.Int64
}

func newCollector() *collector { return &collector{seen: map[string]int{}} }

func (c *collector) handler(ctx context.Context, n *Notification) Result {
	c.mu.Lock()
	c.seen[string(n.Payload)]++
	c.mu.Unlock()
	c.n.Add(1)
	return Handled
}

func (c *collector) count() int { return int(c.n.Load()) }

func startListener(t *testing.T, u, pool string, eps ...Endpoint) *Listener {
	t.Helper()
	sub := newTestSubscriber(t, u, SubscriberConfig{Pool: pool})
	l, err := NewListener(sub, []string{"notifications"}, eps...)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

// Listeners of one pool share its queue (a Python listener of that pool
// included); every pool gets every notification.
func TestPoolsShareWithinAndCopyAcross(t *testing.T) {
	u := testVhost(t)
	a1, a2, b := newCollector(), newCollector(), newCollector()
	startListener(t, u, "pool_a", Endpoint{Handlers: map[Priority]Handler{Info: a1.handler}})
	startListener(t, u, "pool_a", Endpoint{Handlers: map[Priority]Handler{Info: a2.handler}})
	startListener(t, u, "pool_b", Endpoint{Handlers: map[Priority]Handler{Info: b.handler}})
	py := startPyListener(t, u, "nova", "--topic", "notifications", "--priorities", "info", "--pool", "pool_a")
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1})
	const total = 40
	for i := 0; i < total; i++ {
		if err := n.Info(context.Background(), "test.pool", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, func() bool { return b.count() == total })
	pyCount := 0
	deadline := time.After(30 * time.Second)
	for a1.count()+a2.count()+pyCount < total {
		select {
		case <-py:
			pyCount++
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("pool_a got %d+%d+%d of %d", a1.count(), a2.count(), pyCount, total)
		}
	}
	time.Sleep(300 * time.Millisecond) // nothing more may come
	if got := a1.count() + a2.count() + pyCount + len(py); got != total {
		t.Errorf("pool_a handled %d, want each of %d once", got, total)
	}
	if b.count() != total || len(b.seen) != total {
		t.Errorf("pool_b handled %d (%d distinct), want %d", b.count(), len(b.seen), total)
	}
	t.Logf("pool_a split: go %d, go %d, python %d", a1.count(), a2.count(), pyCount)
}

// Endpoints receive only the priorities they handle and what their filter
// passes; a pool-less listener consumes <topic>.<priority> itself.
func TestFiltersAndPriorities(t *testing.T) {
	u := testVhost(t)
	computeInfo, allErrors := newCollector(), newCollector()
	startListener(t, u, "",
		Endpoint{
			Filter:   MustFilter(FilterRules{PublisherID: `^compute\.`, EventType: `compute\.instance\..*\.end$`}),
			Handlers: map[Priority]Handler{Info: computeInfo.handler},
		},
		Endpoint{Handlers: map[Priority]Handler{Error: allErrors.handler}},
	)
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1, PublisherID: "compute.h1"})
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(n.Info(ctx, "compute.instance.create.end", "yes-1"))
	must(n.Info(ctx, "compute.instance.create.start", "no-start"))
	must(n.Prepare("scheduler.h1").Info(ctx, "compute.instance.create.end", "no-publisher"))
	must(n.Info(ctx, "compute.instance.delete.end", "yes-2"))
	must(n.Error(ctx, "compute.instance.create.end", "err-1"))
	must(n.Prepare("api.h1").Error(ctx, "anything", "err-2"))
	must(n.Warn(ctx, "compute.instance.create.end", "no-warn")) // no endpoint handles warn: not consumed
	waitFor(t, 30*time.Second, func() bool { return computeInfo.count() == 2 && allErrors.count() == 2 })
	time.Sleep(300 * time.Millisecond)
	computeInfo.mu.Lock()
	defer computeInfo.mu.Unlock()
	if computeInfo.count() != 2 || computeInfo.seen[`"yes-1"`] != 1 || computeInfo.seen[`"yes-2"`] != 1 {
		t.Errorf("filtered endpoint saw %v", computeInfo.seen)
	}
	if allErrors.count() != 2 {
		t.Errorf("error endpoint saw %v", allErrors.seen)
	}
}

// A handler returning Requeue (or panicking) gets the notification again;
// the message is acknowledged only once a handler handled it.
func TestRequeue(t *testing.T) {
	u := testVhost(t)
	var calls atomic.Int64
	handled := make(chan string, 10)
	startListener(t, u, "", Endpoint{Handlers: map[Priority]Handler{Info: func(ctx context.Context, n *Notification) Result {
		switch calls.Add(1) {
		case 1:
			return Requeue
		case 2:
			panic("handler bug")
		}
		handled <- string(n.Payload)
		return Handled
	}}})
	n := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1})
	if err := n.Info(context.Background(), "test.requeue", "once"); err != nil {
		t.Fatal(err)
	}
	if got := next(t, handled, 30*time.Second); got != `"once"` {
		t.Fatalf("handled %s", got)
	}
	time.Sleep(300 * time.Millisecond)
	if calls.Load() != 3 {
		t.Errorf("handler ran %d times, want 3 (requeue, panic, handled)", calls.Load())
	}
}

func TestListenerValidation(t *testing.T) {
	if _, err := NewListener(&Subscriber{}, nil, Endpoint{}); err == nil {
		t.Error("no topics accepted")
	}
	if _, err := NewListener(&Subscriber{}, []string{"n"}); err == nil {
		t.Error("no endpoints accepted")
	}
	if _, err := NewListener(&Subscriber{}, []string{"n"}, Endpoint{Handlers: map[Priority]Handler{"loud": nil}}); err == nil {
		t.Error("unknown priority accepted")
	}
	if _, err := NewNotifier(context.Background(), Options{Drivers: []string{"routing"}}); err == nil {
		t.Error("unknown driver accepted")
	}
	n, err := NewNotifier(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Info(context.Background(), "x", fmt.Sprint(1)); err != nil {
		t.Errorf("no driver: %v", err)
	}
}

func TestDedupForgetsTheOldest(t *testing.T) {
	d := newDedup(3)
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		d.add(id)
	}
	if d.seen("a") || !d.seen("b") || !d.seen("c") || !d.seen("d") {
		t.Errorf("set %v", d.set)
	}
}
