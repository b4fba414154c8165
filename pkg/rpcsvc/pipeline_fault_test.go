package rpcsvc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFaultCastAsyncSurvivesCuts cuts every connection twice while one
// goroutine keeps a window of casts in flight: every pending cast completes
// confirmed (retried across the reconnects), and every cast arrives exactly
// once.
func TestFaultCastAsyncSurvivesCuts(t *testing.T) {
	t.Parallel()
	e, p := rabbitEnv(t)
	srvTr := e.open(t)
	cliTr := e.open(t, func(o *Options) { o.Registerer = nil })
	rec := newRecorder()
	e.server(t, srvTr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, cliTr, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const total, window = 600, 64
	var inflight []*Pending
	cuts := map[int]bool{total / 3: true, 2 * total / 3: true}
	for i := 0; i < total; i++ {
		if len(inflight) == window {
			if err := inflight[0].Wait(ctx); err != nil {
				t.Fatalf("cast %d: %v", i-window, err)
			}
			inflight = inflight[1:]
		}
		inflight = append(inflight, cl.CastAsync(ctx, "record", RecordArgs{N: i}))
		if cuts[i] {
			p.CutAll()
		}
	}
	for _, err := range waitAll(t, 60*time.Second, inflight) {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "every cast to arrive", func() bool {
		for i := 0; i < total; i++ {
			if rec.count(i) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // let any late duplicate show up
	for i := 0; i < total; i++ {
		if c := rec.count(i); c != 1 {
			t.Errorf("cast %d arrived %d times", i, c)
		}
	}
	if p.Cut() < 4 {
		t.Errorf("the proxy cut %d connections, want at least 4", p.Cut())
	}
}

// TestFaultCastAsyncUnavailable: with the broker cut and refusing, every
// pending cast completes within about UnavailableTimeout with an
// *UnavailableError (or confirmed, for those the broker took before the
// cut), none hangs.
func TestFaultCastAsyncUnavailable(t *testing.T) {
	t.Parallel()
	e, p := rabbitEnv(t)
	const bound = 700 * time.Millisecond
	tr := e.open(t, func(o *Options) { o.UnavailableTimeout = bound })
	e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
	cl := e.client(t, tr, ClientConfig{Timeout: 30 * time.Second})
	ctx := bg(t)
	var pend []*Pending
	for i := 0; i < 200; i++ {
		pend = append(pend, cl.CastAsync(ctx, "record", RecordArgs{N: i}))
		if i == 100 {
			p.SetRefuse(true)
			p.CutAll()
		}
	}
	cut := time.Now()
	errs := waitAll(t, 10*time.Second, pend)
	if d := time.Since(cut); d > bound+3*time.Second {
		t.Fatalf("pending casts took %s to complete, bound %s", d, bound)
	}
	unavailable := 0
	for i, err := range errs {
		var ue *UnavailableError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			unavailable++
		default:
			t.Fatalf("cast %d: %v, want nil or *UnavailableError", i, err)
		}
	}
	if unavailable < 99 {
		t.Fatalf("%d casts failed as unavailable, want at least the 99 sent after the cut", unavailable)
	}
	p.SetRefuse(false)
}
