package tcpproxy_test

import (
	"testing"

	"github.com/gonova/gonova/pkg/tcpproxy"
)

// A fault test points its client at the proxy and cuts only its own
// connections. (Start needs the test's testing.TB, so this example compiles
// but does not run.)
func Example() {
	_ = func(t *testing.T) {
		p := tcpproxy.Start(t, "127.0.0.1:5672")
		url := "amqp://guest:guest@" + p.Addr() + "/"
		_ = url            // ... connect through url, start a stream ...
		p.CutAll()         // every current connection dies, both ways
		p.SetRefuse(true)  // new connections are closed at once
		p.SetRefuse(false) // and accepted again
		if p.Accepted() == 0 || p.Cut() == 0 {
			t.Error("the client never went through the proxy")
		}
	}
}
