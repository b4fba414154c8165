// Package fake is an in-memory virt.Driver, gonova's counterpart of nova's
// virt/fake.py: instances live in a map guarded by a mutex, "booting" one only
// records it, and the host's capacity comes from Options.
//
// # Why
//
// nova-compute must run and be tested end to end on a machine with no
// hypervisor: `make run`, the compute manager's tests, and the shutdown tests
// that need work in flight. Beyond nova's fake, this one enforces capacity (so
// the "insufficient resources" path is real), can hold Spawn for a
// context-aware delay (to have a build in flight when SIGTERM arrives), writes
// a timestamped console log of boots and reboots, and lets a test make an
// instance crash, change power state or vanish behind the manager's back, which
// is what the manager's power-state sync must reconcile.
//
// Times come from an injected clock, so console timestamps, uptimes and spawn
// delays are exact in tests.
//
// # Logging
//
// Debug records for each spawn, destroy, reboot and power change, with the
// attribute "instance" (the uuid); Info for simulated crashes, power changes
// and disappearances, since those are the events a reader of the logs must
// not mistake for the manager's doing.
//
// # Metrics
//
// The package exports no metrics; the compute manager measures driver calls.
package fake
