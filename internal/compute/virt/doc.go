// Package virt defines the hypervisor driver that gonova's compute manager
// drives: the subset of nova's ComputeDriver that nova-compute needs to build,
// reboot, power, inspect and delete instances and to report the host's
// resources.
//
// # Why
//
// The compute manager must not know which hypervisor it runs on, and its tests
// must not need one. Keeping the contract in its own small package lets the
// manager depend on an interface, lets the in-memory driver (package
// virt/fake) and any future real driver be swapped by configuration, as nova's
// compute_driver option does, and gives the manager typed errors to branch on
// (errors.Is(err, virt.ErrInstanceNotFound)) instead of driver-specific ones.
//
// Values mirror nova's so that they can go on the wire unchanged: power
// states are nova's codes (states.PowerState, package internal/compute/states),
// RebootType nova's "SOFT"/"HARD", Resources the keys of
// get_available_resource, Diagnostics the os-server-diagnostics body of
// microversion 2.48.
//
// # Logging
//
// The package defines types only and does not log; drivers log through the
// logger their options carry.
//
// # Metrics
//
// The package exports no metrics. The compute manager measures driver calls.
package virt
