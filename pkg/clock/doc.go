// Package clock is the injectable clock that gonova's timed code (periodic
// tasks, heartbeats, the fake virt driver) uses instead of calling package time
// directly.
//
// # Why
//
// Code that sleeps on the wall clock can only be tested by sleeping, which makes
// tests slow and flaky on a loaded machine. Every gonova component that waits
// takes a Clock; production passes Real (or leaves the field nil and calls
// OrReal), tests pass a clocktest.Fake and advance it by hand, so a test of "the
// task runs every 60 s" finishes in microseconds and never races the scheduler.
//
// The interface is deliberately small (Now, Since, NewTimer, After): it is what
// the callers need, and every method has an obvious fake.
//
// # Logging
//
// The package does not log.
//
// # Metrics
//
// The package exports no metrics.
package clock
