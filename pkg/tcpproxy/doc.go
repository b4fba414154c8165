// Package tcpproxy is a loopback TCP proxy that tests put between a client and a
// real server (RabbitMQ, Postgres) to inject network faults.
//
// # Why
//
// Reconnect logic is only believable when it has survived a real cut: a
// connection that dies in the middle of a stream of messages, or a broker that
// refuses new connections for a while. Restarting the shared broker would
// disturb every other test running in parallel, so fault tests point their
// client at a Proxy (Start, then connect to Addr) and cut only their own
// connections: CutAll kills every current connection, both ways, and
// SetRefuse(true) closes new ones at once until SetRefuse(false). See the
// package example.
//
// The proxy stops (and every goroutine it started returns) when the test ends,
// through t.Cleanup.
//
// # Logging
//
// None: failures are reported through the testing.TB the proxy was started with.
//
// # Metrics
//
// None: Accepted and Cut count what happened, for assertions.
package tcpproxy
