// Package service is nova's RPC Service: the process-level object that starts a
// manager exactly the way nova-compute starts (the seed's Service.start), keeps
// it registered and alive, and stops it without losing work.
//
// Why: every nova RPC service (compute, conductor, scheduler) is the same
// machinery around a different manager. Getting the order right is what makes a
// service safe to run: the row exists before anyone can be told to use the
// host, the RPC server consumes before the service claims to be alive, and at
// stop nothing new is taken while in-flight work finishes.
//
// # Start-up order
//
// Start runs, logging each step, and honouring ctx between and inside steps
// (a SIGTERM during init host stops cleanly):
//
//  1. "Starting <topic> node (version V)"; check the basic configuration
//  2. manager.InitHost
//  3. find the services row by (host, binary) or create it (race-safe);
//     record the service version
//  4. manager.PreStartHook
//  5. RPC server on Target(topic, server=host) with the manager's endpoints,
//     the base RPC API (namespace baseapi: ping, get_backdoor_port)
//  6. manager.PostStartHook
//  7. join the service group: heartbeats every report_interval
//  8. periodic tasks, first after randint(0, periodic_fuzzy_delay)
//
// If a step fails, the steps already done are undone in reverse order and
// Start returns an error naming the step.
//
// # Stop
//
// Stop marks shutdown in progress, stops RPC consumption (in-flight handlers
// finish), lets the manager finish in-flight work within
// manager_shutdown_timeout, then stops periodic tasks and heartbeats, in that
// order, so the service reports itself alive until it has really stopped
// working.
//
// # Logging
//
// Info: each start-up step, stop. Errors of stop steps are joined and returned.
//
// # Usage
//
// Build the Manager in main, pass it with the registry (and a transport, to
// serve RPC) to Create, and give the Service to a launcher
// (launcher.NewServiceLauncher or launcher.New), whose Run starts it, waits
// for SIGTERM and stops it. The package example does that with a small
// manager; pkg/app's ServiceOptions fills Options from nova.conf.
package service
