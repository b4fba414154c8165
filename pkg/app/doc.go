// Package app is the runtime of a gonova binary: it turns nova.conf into the
// parts every service shares (the logger, whose level SIGHUP can change, the
// Prometheus registry, the services store on Postgres or in memory, the RPC
// transport on RabbitMQ or memory://, the Guru Meditation Report, the
// backdoor, a readiness flag) and runs the binary's services under the
// launcher, with nova's signals and exit codes.
//
// Why: nova-api, nova-compute, nova-all and services outside this repository
// must agree on how configuration maps to these parts and on their order of
// shutdown (services, then the transport, then the database pool, last).
// Keeping that here leaves each main a few lines, and makes the embedded
// default and the real deployment one code path that differs only in URLs.
//
// # Writing a service
//
// A service on the framework is a manager, a main, and a nova.conf. The
// examples of Main and App.Run (and examples/greeter, its own module) show
// each step.
//
//  1. Write the manager: a type that embeds service.BaseManager and
//     implements the hooks it needs (InitHost, PreStartHook, Endpoints for
//     its RPC methods, PeriodicTasks, Shutdown). See package service.
//
//  2. Say what the binary is with Options: Product (its name in logs and
//     reports, "nova-greeter"), Version (the service version recorded in its
//     services row), DefaultTransportURL (memory://... to run on the
//     embedded default; empty makes transport_url required, as nova does).
//
//  3. Call Main from main: os.Exit(app.Main(os.Args[1:], opts, build)).
//     Main parses the command line (--config-file, --config-dir, --debug),
//     builds the App (New), opens the transport (OpenTransport), calls
//     build, and runs what build returns (Run). A binary that needs
//     something else in between, such as an API with workers, calls New,
//     OpenTransport and Run itself.
//
//  4. In build, create the services from the App. ServiceOptions(binary,
//     manager) is the service.Options nova.conf implies (host, the services
//     store, the transport, heartbeats every report_interval, periodic task
//     options, manager_shutdown_timeout, logger and metrics), so an RPC
//     service is service.Create(a.ServiceOptions("nova-greeter", m)). The
//     App's fields are there for anything else build makes: Cfg (the parsed
//     configuration), Log, Metrics (register your collectors here;
//     HealthHandler serves them on /metrics), Reporter (add a report section), Services (the
//     services store), Transport (for RPC clients), and Pool for a Postgres
//     pool of your own tables. NewHealthService (NewSharedHealthService
//     with workers) is a loopback listener for /healthcheck and /metrics
//     (HealthHandler); Healthcheck(detail) is /healthcheck alone, for a
//     public port. List such a listener first: it is stopped last.
//
//  5. Run starts the services in order (the backdoor first when
//     backdoor_port is set, in each worker when there are workers; a
//     readiness marker last), waits for SIGTERM or
//     SIGINT, stops them in reverse order within graceful_shutdown_timeout,
//     then closes the transport and the database pool. SIGHUP re-reads the
//     configuration and resets the services; SIGUSR2 writes the report.
//
// # Exit codes
//
// Main and Run return the process's exit code (exit.go): ExitOK,
// ExitFailure (a service failed to build, start or run, or the shutdown
// timed out), ExitConfig (the command line or nova.conf is wrong: do not
// restart), ExitDatabase (the database is unreachable or its schema is old:
// run nova-manage db sync, or restart later) and ExitTransport (transport_url
// cannot be opened). Return an *Error from build to choose the code;
// ExitCode maps any error to its code.
//
// # Readiness
//
// Ready is false until every service has started and false again as soon as
// shutdown begins: the readiness marker is the last service the launcher
// starts, so it is the first it stops. /healthcheck answers 503 meanwhile,
// and OnReady runs its functions once start-up has finished.
//
// # Secrets
//
// No configuration value is logged unmasked. Options of other parts of nova
// are logged by name only; SIGHUP logs the names of the options that changed
// (Config.Changed compares values, so a new password counts, and returns only
// names); a refused reload logs config's error, which shows no value of an
// unknown option and masks secrets; the report's configuration section comes
// from Config.Masked; arguments a binary refuses are shown through MaskArgs.
package app
