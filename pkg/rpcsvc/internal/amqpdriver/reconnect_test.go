package amqpdriver

import (
	"testing"
	"time"
)

// step is one failed dial: the host dialled and the wait after it.
type step struct {
	host int
	wait time.Duration
}

func run(p *reconnectPlan, n int) []step {
	var out []step
	for range n {
		h := p.host()
		out = append(out, step{h, p.failed()})
	}
	return out
}

// With oslo's defaults and three brokers, kombu waits only
// kombu_reconnect_delay between hosts and adds the retry interval (1s, 3s,
// 5s ... linear by rabbit_retry_backoff) after each full round; round-robin
// starts with the host lost and goes on in transport_url order.
func TestReconnectPlanRoundRobinIsKombus(t *testing.T) {
	s := time.Second
	p := newPlan(DefaultReconnect, 3, 1)
	if got := p.first(); got != s {
		t.Fatalf("first wait %s, want kombu_reconnect_delay 1s", got)
	}
	got := run(p, 9)
	want := []step{{1, s}, {2, s}, {0, s + s}, {1, s}, {2, s}, {0, s + 3*s}, {1, s}, {2, s}, {0, s + 5*s}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps %v, want %v", got, want)
		}
	}
}

// The retry interval follows kombu's fxrange(start, max+start, step,
// repeatlast=True): it grows up to rabbit_interval_max + rabbit_retry_interval
// and stays there; with backoff 0 it stays at the start.
func TestReconnectPlanIntervalsSaturate(t *testing.T) {
	r := Reconnect{Strategy: RoundRobin, Interval: 2 * time.Second, Backoff: 4 * time.Second, IntervalMax: 10 * time.Second}
	p := newPlan(r, 1, 0)
	var waits []time.Duration
	for _, st := range run(p, 6) {
		waits = append(waits, st.wait)
	}
	want := []time.Duration{2, 6, 10, 10, 10, 10} // 2, 6, 10 (<= 12), then 14 > 12: repeat 10
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v s", waits, want)
		}
	}
	r.Backoff = 0
	for _, st := range run(newPlan(r, 1, 0), 4) {
		if st.wait != 2*time.Second {
			t.Fatalf("backoff 0: wait %s, want 2s", st.wait)
		}
	}
}

// Shuffle picks each next host at random (here: a fixed sequence), the
// splay adds a random part to each delay, and the gonova cap bounds every
// wait.
func TestReconnectPlanShuffleSplayCap(t *testing.T) {
	r := Reconnect{Strategy: Shuffle, Delay: time.Second, Splay: 500 * time.Millisecond, Interval: time.Second, Backoff: 2 * time.Second, IntervalMax: 30 * time.Second}
	p := newPlan(r, 3, 0)
	picks := []int{2, 2, 1, 0}
	p.rnd = func(n int) int {
		if n != 3 {
			t.Fatalf("rnd(%d), want rnd(3)", n)
		}
		v := picks[0]
		picks = picks[1:]
		return v
	}
	p.splay = func(d time.Duration) time.Duration { return d / 5 } // 100ms
	got := run(p, 4)
	want := []step{{0, 1100 * time.Millisecond}, {2, 1100 * time.Millisecond}, {2, 2100 * time.Millisecond}, {1, 1100 * time.Millisecond}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps %v, want %v", got, want)
		}
	}
	if p.host() != 0 {
		t.Fatalf("host after the last pick %d, want 0", p.host())
	}
	r.Cap = 300 * time.Millisecond
	for _, st := range run(newPlan(r, 1, 0), 3) {
		if st.wait != r.Cap {
			t.Fatalf("capped wait %s, want %s", st.wait, r.Cap)
		}
	}
	// The real splay stays within [0, Splay].
	q := newPlan(r, 1, 0)
	for range 100 {
		if d := q.splay(r.Splay); d < 0 || d > r.Splay {
			t.Fatalf("splay %s outside [0, %s]", d, r.Splay)
		}
	}
}

func TestReconnectValidate(t *testing.T) {
	ok := DefaultReconnect
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Reconnect{
		"strategy":       {Strategy: "random", Interval: time.Second, IntervalMax: time.Second},
		"negative delay": {Strategy: RoundRobin, Delay: -1, Interval: time.Second, IntervalMax: time.Second},
		"interval":       {Strategy: Shuffle, Interval: time.Millisecond, IntervalMax: time.Second},
		"interval max":   {Strategy: Shuffle, Interval: time.Second},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, r)
		}
	}
	if got := (Reconnect{}).withDefaults(); got.Strategy != RoundRobin || got.Interval != time.Second || got.IntervalMax != 30*time.Second || got.Delay != 0 {
		t.Errorf("withDefaults = %+v", got)
	}
}
