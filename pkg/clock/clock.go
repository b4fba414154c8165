package clock

import "time"

// Clock is the part of package time that gonova's timed code depends on.
//
// Production code takes a Clock and defaults to Real; tests pass a
// clocktest.Fake and move time forward explicitly:
//
//	type Heartbeat struct{ Clock clock.Clock }
//
//	t := hb.Clock.NewTimer(interval)
//	defer t.Stop()
//	select {
//	case <-ctx.Done():
//		return ctx.Err()
//	case <-t.C():
//		report()
//	}
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t (Now().Sub(t)).
	Since(t time.Time) time.Duration
	// NewTimer returns a Timer that fires once after d.
	NewTimer(d time.Duration) Timer
	// After returns a channel that receives the time once d has passed.
	// Prefer NewTimer in loops: an After whose channel is abandoned keeps its
	// timer until it fires.
	After(d time.Duration) <-chan time.Time
}

// Timer is a one-shot timer, as time.Timer, behind an interface so that a fake
// clock can fire it.
type Timer interface {
	// C returns the channel on which the time is delivered when the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the call stopped
	// the timer (false when it had already fired or been stopped).
	Stop() bool
	// Reset changes the timer to fire after d. It reports whether the timer had
	// been active.
	Reset(d time.Duration) bool
}

// Real is the Clock of package time.
var Real Clock = realClock{}

// OrReal returns c, or Real when c is nil, so that a nil Clock field in an
// options struct means "the real clock".
func OrReal(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) Since(t time.Time) time.Duration        { return time.Since(t) }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
