package rpcsvc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitAll waits for every pending cast, bounded by d: none may hang.
func waitAll(t *testing.T, d time.Duration, pend []*Pending) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	errs := make([]error, len(pend))
	for i, p := range pend {
		select {
		case <-p.Done():
			errs[i] = p.Err()
		case <-ctx.Done():
			t.Fatalf("pending cast %d of %d did not complete within %s", i, len(pend), d)
		}
		if err := p.Wait(ctx); !errors.Is(err, errs[i]) && err != errs[i] {
			t.Fatalf("Wait and Err disagree: %v, %v", err, errs[i])
		}
	}
	return errs
}

// Many casts in flight from one goroutine: each completes once confirmed,
// and each is handled exactly once.
func TestContractCastAsyncInFlight(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		rec := newRecorder()
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		cl := e.client(t, tr, ClientConfig{}).Prepare(CallOptions{Server: "host1"})
		ctx := bg(t)
		const n = 300
		pend := make([]*Pending, n)
		for i := range pend {
			pend[i] = cl.CastAsync(ctx, "record", RecordArgs{N: i})
		}
		for i, err := range waitAll(t, 20*time.Second, pend) {
			if err != nil {
				t.Fatalf("cast %d: %v", i, err)
			}
		}
		waitFor(t, 10*time.Second, "every cast handled", func() bool { return rec.total() == n })
		for i := 0; i < n; i++ {
			if c := rec.count(i); c != 1 {
				t.Fatalf("cast %d handled %d times", i, c)
			}
		}
		// What Cast refuses before sending, CastAsync completes with at once.
		p := e.client(t, tr, ClientConfig{Target: Target{Version: "2.0"}, VersionCap: "1.5"}).CastAsync(ctx, "record", RecordArgs{})
		if err := p.Wait(ctx); !errors.Is(err, ErrVersionCap) {
			t.Fatalf("cast above the version cap: %v, want ErrVersionCap", err)
		}
		if err := cl.CastAsync(ctx, "record", 5).Wait(ctx); err == nil {
			t.Fatal("a cast with non-object args was accepted")
		}
	})
}

// Routable and unroutable casts in flight together: each return reaches
// its own cast, which is retried for UnroutableTimeout; a cast whose queue
// appears while it is retried is delivered.
func TestContractCastAsyncUnroutable(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t, func(o *Options) { o.UnroutableTimeout = 400 * time.Millisecond })
		rec := newRecorder()
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		cl := e.client(t, tr, ClientConfig{})
		ctx := bg(t)
		good, bad := cl.Prepare(CallOptions{Server: "host1"}), cl.Prepare(CallOptions{Server: "nohost"})
		const n = 60
		pend := make([]*Pending, n)
		start := time.Now()
		for i := range pend {
			if i%2 == 0 {
				pend[i] = good.CastAsync(ctx, "record", RecordArgs{N: i})
			} else {
				pend[i] = bad.CastAsync(ctx, "record", RecordArgs{N: i})
			}
		}
		for i, err := range waitAll(t, 20*time.Second, pend) {
			var ue *UnroutableError
			switch {
			case i%2 == 0 && err != nil:
				t.Fatalf("routable cast %d: %v", i, err)
			case i%2 == 1 && (!errors.As(err, &ue) || ue.Target.Server != "nohost"):
				t.Fatalf("unroutable cast %d: %v, want *UnroutableError for nohost", i, err)
			}
		}
		if took := time.Since(start); took < 350*time.Millisecond {
			t.Fatalf("unroutable casts gave up after %s, before UnroutableTimeout", took)
		}
		waitFor(t, 10*time.Second, "the routable casts", func() bool { return rec.total() == n/2 })

		// Retried until a queue appears.
		tr2 := e.open(t, func(o *Options) { o.UnroutableTimeout = 20 * time.Second; o.Registerer = nil })
		late := e.client(t, tr2, ClientConfig{}).Prepare(CallOptions{Server: "host2"})
		lp := []*Pending{late.CastAsync(ctx, "record", RecordArgs{N: 1000}), late.CastAsync(ctx, "record", RecordArgs{N: 1001})}
		time.Sleep(300 * time.Millisecond)
		for _, p := range lp {
			select {
			case <-p.Done():
				t.Fatalf("a cast to no queue completed early: %v", p.Err())
			default:
			}
		}
		rec2 := newRecorder()
		e.server(t, tr, "host2", &testEndpoint{rec: rec2})
		for _, err := range waitAll(t, 20*time.Second, lp) {
			if err != nil {
				t.Fatalf("cast retried until its queue appeared: %v", err)
			}
		}
		waitFor(t, 10*time.Second, "the retried casts", func() bool { return rec2.count(1000) == 1 && rec2.count(1001) == 1 })
	})
}

// A cancelled context, a deadline and a closed transport each complete
// every pending cast; none hangs (and goleak checks no goroutine stays).
func TestContractCastAsyncCancelAndClose(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t, func(o *Options) { o.UnroutableTimeout = time.Minute })
		cl := e.client(t, tr, ClientConfig{}).Prepare(CallOptions{Server: "nohost"})

		ctx, cancel := context.WithCancel(context.Background())
		pend := make([]*Pending, 20)
		for i := range pend {
			pend[i] = cl.CastAsync(ctx, "record", RecordArgs{N: i})
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
		for i, err := range waitAll(t, 5*time.Second, pend) {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cast %d after cancel: %v, want context.Canceled", i, err)
			}
		}
		if err := cl.CastAsync(ctx, "record", RecordArgs{}).Wait(context.Background()); !errors.Is(err, context.Canceled) {
			t.Fatalf("cast with a cancelled context: %v", err)
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer dcancel()
		if err := cl.CastAsync(dctx, "record", RecordArgs{}).Wait(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cast past its deadline: %v", err)
		}

		// Close completes what is still retrying.
		tr2 := e.open(t, func(o *Options) { o.UnroutableTimeout = time.Minute; o.Registerer = nil })
		cl2 := e.client(t, tr2, ClientConfig{Timeout: time.Minute}).Prepare(CallOptions{Server: "nohost"})
		pend = pend[:0]
		for i := 0; i < 20; i++ {
			pend = append(pend, cl2.CastAsync(context.Background(), "record", RecordArgs{N: i}))
		}
		time.Sleep(100 * time.Millisecond)
		closed := time.Now()
		if err := tr2.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(closed); d > 5*time.Second {
			t.Fatalf("Close took %s", d)
		}
		for i, err := range waitAll(t, time.Second, pend) {
			if err == nil {
				t.Fatalf("cast %d to no queue completed without error at Close", i)
			}
		}
		if err := cl2.CastAsync(context.Background(), "record", RecordArgs{}).Wait(context.Background()); err == nil {
			t.Fatal("a cast on a closed transport succeeded")
		}
	})
}
