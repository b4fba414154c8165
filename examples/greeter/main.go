// Command greeter is a complete, small service on gonova's framework: an RPC
// service (topic "greeter") whose manager answers a `greet` call, counts the
// greetings in a periodic task, records itself in the services table and
// heartbeats, all run by the launcher with nova's signals.
//
// It runs on the embedded default (memory:// transport, in-memory store) or,
// with transport_url and [database] connection set, on RabbitMQ and Postgres:
//
//	cd examples/greeter && go run . --config-file greeter.conf
//
// Any oslo.messaging client can call it: target topic "greeter", server = host,
// method "greet", args {"name": "..."}.
package main

import (
	"os"

	"github.com/gonova/gonova/pkg/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], app.Options{Product: "greeter", DefaultTransportURL: "memory://greeter"}, func(a *app.App) ([]app.Service, error) {
		svc, err := newService(a)
		if err != nil {
			return nil, err
		}
		return []app.Service{svc}, nil
	}))
}
