// Package tcpproxy is a loopback TCP proxy that tests put between a client and a
// real server (RabbitMQ, Postgres) to inject network faults.
//
// # Why
//
// Reconnect logic is only believable when it has survived a real cut: a
// connection that dies in the middle of a stream of messages, or a broker that
// refuses new connections for a while. Restarting the shared broker would
// disturb every other test running in parallel, so fault tests point their
// client at a Proxy and cut only their own connections:
//
//	p := tcpproxy.Start(t, "127.0.0.1:5672")
//	url := "amqp://guest:guest@" + p.Addr() + "/"
//	// ... connect through url, start a stream ...
//	p.CutAll()          // every current connection dies, both ways
//	p.SetRefuse(true)   // new connections are closed at once
//	p.SetRefuse(false)  // and accepted again
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
