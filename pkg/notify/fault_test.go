package notify

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/pkg/tcpproxy"
)

// proxied returns u's vhost reached through a fault proxy.
func proxied(t *testing.T, u string) (string, *tcpproxy.Proxy) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p := tcpproxy.Start(t, pu.Host)
	pu.Host = p.Addr()
	return pu.String(), p
}

// Connections cut during a stream of notifications lose nothing that Notify
// reported sent: the notifier republishes what was not confirmed, and the
// listener (cut too) re-declares, resumes and gets what was not acked again.
func TestNotifyAcrossConnectionCutsLosesNothingConfirmed(t *testing.T) {
	u := testVhost(t)
	pu, p := proxied(t, u)
	var mu sync.Mutex
	seen := map[string]int{}
	sub := newTestSubscriber(t, pu, SubscriberConfig{})
	l, err := NewListener(sub, []string{"notifications"}, Endpoint{Handlers: map[Priority]Handler{Info: func(ctx context.Context, n *Notification) Result {
		mu.Lock()
		seen[string(n.Payload)]++
		mu.Unlock()
		return Handled
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	reg := prometheus.NewPedanticRegistry()
	n := newTestNotifier(t, pu, Options{Drivers: []string{DriverMessagingV2}, Retry: -1, Registerer: reg})

	const workers, each = 4, 75
	const total = workers * each
	var wg sync.WaitGroup
	var sent sync.Map
	errs := make(chan error, workers)
	progress := make(chan struct{}, total)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			for i := 0; i < each; i++ {
				payload := map[string]int{"w": w, "i": i}
				if err := n.Info(ctx, "test.cut", payload); err != nil {
					errs <- err
					return
				}
				b, _ := marshal(payload)
				sent.Store(string(b), true)
				progress <- struct{}{}
			}
		}()
	}
	for done := 0; done < total; {
		select {
		case <-progress:
			done++
			if done == total/4 || done == total/2 || done == 3*total/4 {
				p.CutAll()
			}
		case err := <-errs:
			t.Fatalf("Notify failed with retry = -1: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatalf("stuck after %d notifications", done)
		}
	}
	wg.Wait()
	if p.Cut() < 3 {
		t.Fatalf("only %d connections cut", p.Cut())
	}
	waitFor(t, 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == total
	})
	dups := 0
	mu.Lock()
	for _, c := range seen {
		dups += c - 1
	}
	mu.Unlock()
	sent.Range(func(k, _ any) bool {
		mu.Lock()
		defer mu.Unlock()
		if seen[k.(string)] == 0 {
			t.Errorf("confirmed notification %s never arrived", k)
		}
		return true
	})
	if got := testutil.ToFloat64(n.metrics.sentVec.WithLabelValues("test.cut", outcomeSuccess)); got != total {
		t.Errorf("sent success = %v, want %d", got, total)
	}
	if got := testutil.ToFloat64(n.metrics.reconnects); got < 1 {
		t.Errorf("reconnects = %v", got)
	}
	t.Logf("%d notifications across %d cuts, %d handled twice (the listener drops duplicates by _unique_id)", total, p.Cut(), dups)
}

// With retry = N a notification that cannot be sent fails after N more
// attempts instead of blocking, and is counted as a failure.
func TestRetryIsBounded(t *testing.T) {
	u := testVhost(t)
	pu, p := proxied(t, u)
	reg := prometheus.NewPedanticRegistry()
	n := newTestNotifier(t, pu, Options{Drivers: []string{DriverMessagingV2}, Retry: 2, AttemptTimeout: 200 * time.Millisecond, Registerer: reg})
	if err := n.Info(context.Background(), "test.retry", 1); err != nil {
		t.Fatal(err)
	}
	p.SetRefuse(true)
	p.CutAll()
	start := time.Now()
	err := n.Info(context.Background(), "test.retry", 2)
	if err == nil {
		t.Fatal("sent without a broker")
	}
	if errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("took %v: %v", time.Since(start), err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if got := testutil.ToFloat64(n.metrics.sentVec.WithLabelValues("test.retry", outcomeFailure)); got != 1 {
		t.Errorf("failures = %v", got)
	}
	p.SetRefuse(false)
	// retry = 2 is not meant to outlast the reconnect backoff: wait for it.
	waitFor(t, 30*time.Second, func() bool { return testutil.ToFloat64(n.metrics.reconnects) >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Info(ctx, "test.retry", 3); err != nil {
		t.Errorf("after the broker is back: %v", err)
	}
}

// A notifier whose durability differs from what the broker has fails at once
// (no retry can help) and names the option to align.
func TestMismatchedDurabilityNamesTheOption(t *testing.T) {
	u := testVhost(t)
	plain := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1})
	if err := plain.Info(context.Background(), "test.mismatch", 1); err != nil {
		t.Fatal(err)
	}
	durable := newTestNotifier(t, u, Options{Drivers: []string{DriverMessagingV2}, Retry: -1, DurableQueues: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := durable.Info(ctx, "test.mismatch", 2)
	var pe *PreconditionError
	if !errors.As(err, &pe) || !strings.Contains(pe.Option, "amqp_durable_queues") {
		t.Fatalf("err = %v, want a PreconditionError naming amqp_durable_queues", err)
	}
	if ctx.Err() != nil {
		t.Error("retried until the deadline: a refused declaration is permanent")
	}
}

// Close lets Notify calls in progress finish, up to CloseTimeout; one that
// cannot be confirmed by then fails with ErrClosed, and later calls fail at
// once.
func TestNotifierCloseWaitsThenFailsTheUnconfirmed(t *testing.T) {
	u := testVhost(t)
	pu, p := proxied(t, u)
	opts := Options{Drivers: []string{DriverMessagingV2}, Retry: -1, CloseTimeout: 500 * time.Millisecond, TransportURL: pu, Logger: testLogger(t)}
	n, err := NewNotifier(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Info(context.Background(), "test.close", 1); err != nil {
		t.Fatal(err)
	}
	p.SetRefuse(true)
	p.CutAll()
	stuck := make(chan error, 1)
	go func() { stuck <- n.Info(context.Background(), "test.close", 2) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("Close took %v, want about CloseTimeout", d)
	}
	if err := <-stuck; !errors.Is(err, ErrClosed) {
		t.Errorf("the unconfirmed Notify: %v, want ErrClosed", err)
	}
	if err := n.Info(context.Background(), "test.close", 3); !errors.Is(err, ErrClosed) {
		t.Errorf("Notify after Close: %v", err)
	}
}
