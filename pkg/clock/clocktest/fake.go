// Package clocktest provides Fake, a manually advanced clock.Clock for tests in
// any gonova package.
//
// # Why
//
// Timed code is tested by moving time, not by sleeping: the test advances the
// fake and the code under test sees its timers fire at once. Because the code
// under test usually runs in its own goroutine, Fake also lets a test wait until
// that goroutine has armed its timer (WaitForTimers) before advancing, which is
// what makes such tests deterministic rather than merely fast.
//
// # Logging
//
// The package does not log.
//
// # Metrics
//
// The package exports no metrics.
package clocktest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/gonova/gonova/pkg/clock"
)

// Epoch is a fixed, recognisable start time for fakes (New(Epoch)).
var Epoch = time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)

// Fake is a clock.Clock whose time moves only when Advance or Set is called.
// It is safe for concurrent use.
//
//	fc := clocktest.New(clocktest.Epoch)
//	go worker(ctx, fc)                    // arms fc.NewTimer(10 * time.Second)
//	_ = fc.WaitForTimers(ctx, 1)          // the worker is now waiting
//	fc.Advance(10 * time.Second)          // its timer fires
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*fakeTimer]struct{} // armed, not yet fired or stopped
	changed chan struct{}           // closed and replaced whenever timers change
}

var _ clock.Clock = (*Fake)(nil)

// New returns a Fake whose time is start.
func New(start time.Time) *Fake {
	return &Fake{now: start, timers: map[*fakeTimer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns Now().Sub(t).
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// After returns the channel of a new timer that fires after d.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer arms a timer that fires when the fake's time reaches Now()+d. A
// timer with d <= 0 fires at once.
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(t, d)
	return t
}

// Advance moves the fake's time forward by d and fires, in deadline order,
// every timer that is then due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(f.now.Add(d))
}

// Set moves the fake's time to t (which may be in the past, to simulate a wall
// clock step) and fires every timer that is then due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(t)
}

// Timers returns the number of armed timers (created or reset, not yet fired
// or stopped).
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextTimer returns how long from now the earliest armed timer fires, and
// false when no timer is armed. Tests use it to check how long code under test
// chose to sleep.
func (f *Fake) NextTimer() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var (
		best  time.Time
		found bool
	)
	for t := range f.timers {
		if !found || t.deadline.Before(best) {
			best, found = t.deadline, true
		}
	}
	if !found {
		return 0, false
	}
	return best.Sub(f.now), true
}

// WaitForTimers blocks until at least n timers are armed, or ctx ends (then
// it returns ctx.Err()). Call it before Advance when the code under test arms
// its timer in another goroutine.
func (f *Fake) WaitForTimers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		armed, changed := len(f.timers), f.changed
		f.mu.Unlock()
		if armed >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Fake) armLocked(t *fakeTimer, d time.Duration) {
	t.deadline = f.now.Add(d)
	if d <= 0 {
		t.fireLocked(f.now)
		return
	}
	f.timers[t] = struct{}{}
	f.notifyLocked()
}

func (f *Fake) setLocked(now time.Time) {
	f.now = now
	var due []*fakeTimer
	for t := range f.timers {
		if !t.deadline.After(now) {
			due = append(due, t)
		}
	}
	if len(due) == 0 {
		return
	}
	sort.Slice(due, func(i, j int) bool { return due[i].deadline.Before(due[j].deadline) })
	for _, t := range due {
		delete(f.timers, t)
		t.fireLocked(now)
	}
	f.notifyLocked()
}

type fakeTimer struct {
	f        *Fake
	c        chan time.Time
	deadline time.Time
}

// fireLocked delivers now without blocking; like a time.Timer, a timer whose
// previous value was never received does not queue a second one.
func (t *fakeTimer) fireLocked(now time.Time) {
	select {
	case t.c <- now:
	default:
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	_, armed := t.f.timers[t]
	if armed {
		delete(t.f.timers, t)
		t.f.notifyLocked()
	}
	return armed
}

// Reset re-arms the timer for d from the fake's current time. As with
// time.Timer since Go 1.23, a value that fired but was not received is
// discarded.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	_, armed := t.f.timers[t]
	delete(t.f.timers, t)
	select {
	case <-t.c:
	default:
	}
	t.f.armLocked(t, d)
	if armed && d <= 0 {
		t.f.notifyLocked()
	}
	return armed
}
