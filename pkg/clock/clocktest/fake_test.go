package clocktest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func received(c <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-c:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestNowSinceAdvanceSet(t *testing.T) {
	f := New(Epoch)
	if !f.Now().Equal(Epoch) {
		t.Fatalf("Now = %v, want %v", f.Now(), Epoch)
	}
	f.Advance(90 * time.Second)
	if got := f.Since(Epoch); got != 90*time.Second {
		t.Fatalf("Since = %v, want 90s", got)
	}
	back := Epoch.Add(-time.Hour)
	f.Set(back)
	if !f.Now().Equal(back) {
		t.Fatalf("Set: Now = %v, want %v", f.Now(), back)
	}
}

func TestTimerFiresOnlyWhenDue(t *testing.T) {
	f := New(Epoch)
	tm := f.NewTimer(10 * time.Second)
	if n := f.Timers(); n != 1 {
		t.Fatalf("Timers = %d, want 1", n)
	}
	if d, ok := f.NextTimer(); !ok || d != 10*time.Second {
		t.Fatalf("NextTimer = %v,%v; want 10s,true", d, ok)
	}
	f.Advance(9 * time.Second)
	if _, ok := received(tm.C()); ok {
		t.Fatal("timer fired 1s early")
	}
	f.Advance(time.Second)
	v, ok := received(tm.C())
	if !ok {
		t.Fatal("timer did not fire when due")
	}
	if want := Epoch.Add(10 * time.Second); !v.Equal(want) {
		t.Fatalf("fired with %v, want %v", v, want)
	}
	if n := f.Timers(); n != 0 {
		t.Fatalf("Timers after firing = %d, want 0", n)
	}
	if _, ok := f.NextTimer(); ok {
		t.Fatal("NextTimer reports a timer after all fired")
	}
}

func TestZeroDurationFiresAtOnce(t *testing.T) {
	f := New(Epoch)
	if _, ok := received(f.After(0)); !ok {
		t.Fatal("After(0) did not fire at once")
	}
	if n := f.Timers(); n != 0 {
		t.Fatalf("Timers = %d, want 0", n)
	}
}

func TestStopAndReset(t *testing.T) {
	f := New(Epoch)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of an armed timer returned false")
	}
	if tm.Stop() {
		t.Fatal("second Stop returned true")
	}
	f.Advance(time.Hour)
	if _, ok := received(tm.C()); ok {
		t.Fatal("stopped timer fired")
	}
	if tm.Reset(5 * time.Second) {
		t.Fatal("Reset of a stopped timer reported it active")
	}
	f.Advance(4 * time.Second)
	if tm.Reset(5*time.Second) != true {
		t.Fatal("Reset of an armed timer reported it inactive")
	}
	f.Advance(4 * time.Second) // 8s after the first reset: moved away by the second
	if _, ok := received(tm.C()); ok {
		t.Fatal("timer fired at its old deadline after Reset")
	}
	f.Advance(time.Second)
	if _, ok := received(tm.C()); !ok {
		t.Fatal("timer did not fire at its reset deadline")
	}
}

func TestResetDiscardsUnreceivedValue(t *testing.T) {
	f := New(Epoch)
	tm := f.NewTimer(time.Second)
	f.Advance(time.Second) // fired, not received
	tm.Reset(time.Second)
	if _, ok := received(tm.C()); ok {
		t.Fatal("stale value survived Reset")
	}
}

func TestTimersFireInDeadlineOrder(t *testing.T) {
	f := New(Epoch)
	late, early := f.NewTimer(3*time.Second), f.NewTimer(time.Second)
	f.Advance(5 * time.Second)
	if _, ok := received(early.C()); !ok {
		t.Fatal("early timer did not fire")
	}
	if _, ok := received(late.C()); !ok {
		t.Fatal("late timer did not fire")
	}
}

func TestWaitForTimers(t *testing.T) {
	f := New(Epoch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	done := make(chan time.Time)
	go func() {
		tm := f.NewTimer(time.Minute)
		done <- <-tm.C()
	}()
	if err := f.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("WaitForTimers: %v", err)
	}
	f.Advance(time.Minute)
	if got := <-done; !got.Equal(Epoch.Add(time.Minute)) {
		t.Fatalf("goroutine woke with %v", got)
	}

	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := f.WaitForTimers(short, 1); err != context.Canceled {
		t.Fatalf("WaitForTimers with no timer and a done ctx = %v, want context.Canceled", err)
	}
}
