package clock

import (
	"testing"
	"time"
)

func TestOrReal(t *testing.T) {
	if OrReal(nil) != Real {
		t.Fatal("OrReal(nil) is not Real")
	}
	var c Clock = realClock{}
	if OrReal(c) != c {
		t.Fatal("OrReal did not keep a non-nil clock")
	}
}

func TestRealClock(t *testing.T) {
	start := Real.Now()
	tm := Real.NewTimer(time.Millisecond)
	defer tm.Stop()
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Fatal("real timer did not fire")
	}
	if Real.Since(start) < time.Millisecond {
		t.Fatal("Since is shorter than the timer that fired")
	}
	if tm.Reset(time.Hour) {
		t.Fatal("Reset of a fired timer reported it active")
	}
	if !tm.Stop() {
		t.Fatal("Stop of a re-armed timer returned false")
	}
	select {
	case <-Real.After(time.Millisecond):
	case <-time.After(5 * time.Second):
		t.Fatal("Real.After did not fire")
	}
}
