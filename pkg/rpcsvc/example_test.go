package rpcsvc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Greeter is an endpoint: its exported methods of the form
// func (e *T) Method(ctx context.Context, args A) (R, error) (args and
// result optional) are served under their snake_case names.
type Greeter struct{}

type HelloArgs struct {
	Name string `json:"name"`
}

func (g *Greeter) SayHello(ctx context.Context, args HelloArgs) (string, error) {
	if args.Name == "" {
		return "", errors.New("no name given")
	}
	rc, _ := rpcsvc.ContextFrom(ctx)
	return fmt.Sprintf("hello %s (request %s)", args.Name, rc.RequestID), nil
}

// A server and a client on one transport. memory:// is the in-process
// broker; rabbit://user:pass@host:5672/ talks to RabbitMQ the same way.
func Example() {
	ctx := context.Background()
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{
		TransportURL:    "memory://example",
		ControlExchange: "nova",
		Registerer:      prometheus.NewRegistry(),
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close(ctx)

	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{
		Target:    rpcsvc.Target{Topic: "greeter", Server: "host1"},
		Endpoints: []rpcsvc.Endpoint{{Version: "1.0", Impl: &Greeter{}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Stop(stopCtx)
	}()

	cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: "greeter", Version: "1.0"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx = rpcsvc.NewContext(ctx, rpcsvc.Context{RequestID: "req-1", ProjectID: "p"})
	var out string
	err = cl.Prepare(rpcsvc.CallOptions{Server: "host1", Timeout: 5 * time.Second}).Call(ctx, "say_hello", HelloArgs{Name: "nova"}, &out)
	fmt.Println(out, err)

	err = cl.Call(ctx, "say_hello", HelloArgs{}, &out)
	var rerr *rpcsvc.RemoteError // a handler's error, from Go or Python
	if errors.As(err, &rerr) {
		fmt.Println("remote error:", rerr.Message)
	}
	// Output:
	// hello nova (request req-1) <nil>
	// remote error: no name given
}
