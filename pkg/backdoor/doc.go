// Package backdoor serves a debugging endpoint on localhost: net/http/pprof
// profiles and the Guru Meditation Report.
//
// # Why
//
// nova's backdoor_port opened an eventlet Python shell on localhost so that an
// operator could look inside a live service. A Go process cannot offer a REPL,
// but what operators used it for (who is stuck where, what is allocating, what
// is the state) is what pprof and the report answer. The listener binds
// 127.0.0.1 only: the endpoint has no authentication, and reaching it needs a
// shell on the host, exactly like nova's.
//
// backdoor_port keeps nova's syntax, parsed by [ParsePort]: a port number, 0
// for any free port, or start:end for the first free port in the range (which
// is how several workers of one service each get one). The bound port is
// available from [Server.Port] for nova's get_backdoor_port RPC.
//
// Routes: GET / (index), GET /report, /debug/pprof/ and its sub-pages.
//
// [Server] has the launcher's Service method set (Name, Start, Stop, Wait,
// Reset) without importing the launcher, so it is added like any service; it
// binds in Start so a port in use fails the start.
//
// # Logging
//
// Info "backdoor listening" with addr when bound; Error when serving fails.
//
// # Metrics
//
// None: the endpoint is for people, and /metrics belongs to the services.
package backdoor
