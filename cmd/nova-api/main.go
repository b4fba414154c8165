// Command nova-api serves the compute API (a subset of nova's, wire-compatible
// with OpenStack clients) over HTTP and sends work to nova-compute over RPC.
//
//	nova-api --config-file /etc/nova/nova.conf
//
// With osapi_compute_workers > 1 a parent process binds the port and runs that
// many workers sharing it. Signals: SIGTERM/SIGINT stop gracefully, SIGHUP
// reloads the configuration, SIGUSR2 prints a Guru Meditation Report.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gonova/gonova/internal/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/launcher"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ctx := context.Background()
	cfg, rest, err := config.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nova-api:", err)
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(os.Stderr, "nova-api: unexpected arguments %q\n", rest)
		return 2
	}
	workers := cfg.Default.OsapiComputeWorkers
	parent := workers > 1 && !launcher.IsWorker()
	a, err := app.NewFromConfig(ctx, cfg, app.Options{Product: "nova-api", BindOnly: parent})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nova-api:", err)
		return 1
	}
	if parent {
		l, err := a.NewAPIListener()
		if err != nil {
			a.Log.Error("building the API listener", "error", err)
			return 1
		}
		return a.Run(ctx, workers, l)
	}
	if err := a.OpenTransport(ctx); err != nil {
		a.Log.Error("opening the RPC transport", "error", err)
		a.Close()
		return 1
	}
	compute, err := a.ComputeClient()
	if err != nil {
		a.Log.Error("building the compute RPC client", "error", err)
		a.Close()
		return 1
	}
	svc, err := a.NewAPIService(compute)
	if err != nil {
		a.Log.Error("building the API service", "error", err)
		a.Close()
		return 1
	}
	return a.Run(ctx, workers, svc)
}
