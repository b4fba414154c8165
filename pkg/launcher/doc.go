// Package launcher runs a process's services with one lifecycle, the way
// oslo.service's launchers run OpenStack services: start in order, stop in
// reverse order, react to SIGTERM, SIGINT, SIGHUP and SIGUSR2, talk to
// systemd, and with workers > 1 supervise worker processes that share the
// listening sockets.
//
// # Why
//
// Every gonova binary (nova-api, nova-compute, ...) needs the same start-up
// and shutdown behaviour that operators of OpenStack rely on, and the known
// gaps of nova's are worth closing once, here, for all of them:
//
//   - READY=1 is sent only after every service has started (oslo sends it
//     before start-up is done), and a port in use fails the start: listeners
//     are bound before anything reports ready.
//   - A stop signal during start-up cancels the start and stops what had
//     started (nova crashed in stop() when SIGTERM came during init_host).
//   - Shutdown waits for in-flight work, bounded by graceful_shutdown_timeout
//     from a fresh context, and names the services still stopping when it
//     gives up.
//   - A service that fails to start is named in the error, and the services
//     started before it are stopped in reverse order (fx's rollback).
//
// # Two launchers, one interface
//
// [ServiceLauncher] runs services in this process. [ProcessLauncher] is the
// parent of N workers, which are this same program re-executed (Go cannot
// fork a running runtime): the parent binds the sockets and passes them down
// in ExtraFiles, with their names in GONOVA_LISTEN_FDS; each worker finds
// itself a worker from its environment, and [New] gives it a ServiceLauncher
// whose [Listen] returns the inherited sockets. So the same main works in
// both modes: it calls [Listen] (which binds, or inherits in a worker), builds
// its services, and exits with [ExitCode] of New(...).Run(ctx). The package
// example shows such a main.
//
// The parent throttles forks as oslo does (about one a second in a crash
// loop), re-spawns dead workers with exponential backoff, forwards SIGTERM,
// SIGINT and SIGHUP, and waits for workers graceful_shutdown_timeout plus a
// short grace before it kills them. Workers end when the parent dies:
// Pdeathsig (Linux) sends them SIGTERM, and they also poll their parent pid.
// A worker tells the parent it has started over a pipe; the parent sends
// READY=1 once all have. SIGUSR2 to the parent reports on the workers; send
// it to a worker's pid for that worker's report.
//
// # Signals
//
//   - SIGTERM, SIGINT: graceful stop. A second one returns ErrSecondSignal at
//     once (gonova treats SIGINT like SIGTERM; oslo exits at once on SIGINT).
//   - SIGHUP: Options.Reload, then Reset on every running service.
//   - SIGUSR2: the Guru Meditation Report (package gmr) to stderr.
//
// # Logging
//
// Info: each service starting, started (with duration), stopping, stopped;
// "all services started"; the signal caught; "reload done"; workers started,
// ready, exited. Warn: a service ending on its own, a worker dying ("worker
// died, re-spawning" with its exit status and the backoff), the parent
// dying. Error: start-up failed; "graceful shutdown timed out" with
// still_stopping naming the services (or workers); a second signal; reload
// or reset failures. Records about one service carry service=, about a
// worker worker= and pid=.
//
// # Metrics
//
// None yet: the launcher runs before and after the metrics endpoint, and
// worker re-spawns are visible in the logs and the report.
package launcher
