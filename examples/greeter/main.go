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
//
// It also serves one HTTP route, GET /v1/greeting?name=..., on
// $GREETER_HTTP_LISTEN (default 127.0.0.1:8780), behind the authenticator
// [api] auth_strategy names: keystone, with nova's [keystone_authtoken]
// section, or noauth2 for development:
//
//	[api]
//	auth_strategy = keystone
//	[keystone_authtoken]
//	www_authenticate_uri = http://keystone:5000/v3
//	auth_url = http://keystone:5000/v3
//	auth_type = password
//	username = greeter
//	password = ...
//	project_name = service
//	user_domain_name = Default
//	project_domain_name = Default
//
//	curl -H "X-Auth-Token: $(openstack token issue -f value -c id)" 'http://127.0.0.1:8780/v1/greeting?name=operator'
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/gonova/gonova/pkg/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], app.Options{Product: "greeter", DefaultTransportURL: "memory://greeter"}, func(a *app.App) ([]app.Service, error) {
		host, port, err := listenAddr(os.Getenv("GREETER_HTTP_LISTEN"))
		if err != nil {
			return nil, &app.Error{Code: app.ExitConfig, Err: err}
		}
		m := newManager(a)
		svc, err := newService(a, m)
		if err != nil {
			return nil, err
		}
		web, err := newHTTPService(a, m, host, port)
		if err != nil {
			return nil, err
		}
		return []app.Service{svc, web}, nil
	}))
}

// listenAddr parses host:port (empty: 127.0.0.1:8780).
func listenAddr(v string) (string, int, error) {
	if v == "" {
		v = "127.0.0.1:8780"
	}
	host, p, err := net.SplitHostPort(v)
	if err == nil {
		var port int
		if port, err = strconv.Atoi(p); err == nil && port > 0 && port < 65536 {
			return host, port, nil
		}
	}
	return "", 0, fmt.Errorf("GREETER_HTTP_LISTEN = %q: want host:port", v)
}
