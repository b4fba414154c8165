package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// Greeter is a manager: BaseManager gives no-op hooks, and it implements
// the ones it needs.
type Greeter struct {
	service.BaseManager
}

type GreetArgs struct {
	Name string `json:"name"`
}

// Greet is served as the RPC method "greet" (see Endpoints).
func (g *Greeter) Greet(ctx context.Context, args GreetArgs) (string, error) {
	return "Hello, " + args.Name + "!", nil
}

func (g *Greeter) Endpoints() []rpcsvc.Endpoint {
	return []rpcsvc.Endpoint{{Version: "1.0", Impl: g}}
}

func (g *Greeter) PeriodicTasks(ts *periodic.Tasks) {
	ts.Add("report_greetings", func(ctx context.Context) error { return nil }, periodic.Spacing(time.Minute))
}

// The main of an RPC service: Options say what the binary is, Main parses
// the command line and nova.conf, builds the App, opens the transport, and
// runs what build returns until SIGTERM. The exit code says what failed.
func ExampleMain() {
	opts := app.Options{
		Product:             "nova-greeter",
		Version:             1,
		DefaultTransportURL: "memory://greeter", // the embedded default
	}
	os.Exit(app.Main(os.Args[1:], opts, func(a *app.App) ([]app.Service, error) {
		svc, err := service.Create(a.ServiceOptions("nova-greeter", &Greeter{}))
		if err != nil {
			return nil, err // ExitFailure; return an *app.Error to choose the code
		}
		var services []app.Service
		if addr := a.Cfg.Gonova.MetricsListen; addr != "" {
			health, err := a.NewHealthService(addr) // /healthcheck and /metrics
			if err != nil {
				return nil, err
			}
			services = append(services, health) // first started, last stopped
		}
		return append(services, svc), nil
	}))
}

// What Main does, step by step, on a configuration parsed here: the App,
// the transport, the service from ServiceOptions, then Run until ctx ends
// (a real main ends on SIGTERM).
func ExampleApp_Run() {
	dir, _ := os.MkdirTemp("", "greeter")
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "nova.conf")
	_ = os.WriteFile(conf, []byte("[DEFAULT]\nhost = host1\ntransport_url = memory://example\n"), 0o600)
	cfg, _, err := config.ParseWith([]string{"--config-file", conf},
		config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer devnull.Close()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	a, err := app.NewFromConfig(ctx, cfg, app.Options{Product: "nova-greeter", Output: devnull})
	if err != nil {
		fmt.Println(app.ExitCode(err), err)
		return
	}
	if err := a.OpenTransport(ctx); err != nil {
		fmt.Println(app.ExitCode(err), err)
		return
	}
	svc, err := service.Create(a.ServiceOptions("nova-greeter", &Greeter{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	a.OnReady(func() {
		rows, _, _ := a.Services.List(ctx, registry.Filter{})
		fmt.Println("ready:", a.Ready(), rows[0].Host, rows[0].Binary, rows[0].Topic)
		stop() // stands in for SIGTERM
	})
	code := a.Run(ctx, 1, svc)
	fmt.Println("exit code:", code, "ready:", a.Ready())
	// Output:
	// ready: true host1 nova-greeter greeter
	// exit code: 0 ready: false
}
