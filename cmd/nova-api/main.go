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

	"github.com/gonova/gonova/internal/nova"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/launcher"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ctx := context.Background()
	cfg, rest, err := config.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nova-api:", err)
		return app.ExitConfig
	}
	if len(rest) > 0 {
		fmt.Fprintf(os.Stderr, "nova-api: unexpected arguments %q\n", app.MaskArgs(rest))
		return app.ExitConfig
	}
	workers := cfg.Default.OsapiComputeWorkers
	parent := workers > 1 && !launcher.IsWorker()
	o := nova.Options("nova-api")
	o.BindOnly = parent
	rt, err := app.NewFromConfig(ctx, cfg, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nova-api:", err)
		return app.ExitCode(err)
	}
	a := nova.Wrap(rt)
	if parent {
		l, err := a.NewAPIListener()
		if err != nil {
			a.Log.Error("building the API listener", "error", err)
			return app.ExitCode(err)
		}
		var parentServices []app.Service
		m, err := a.NewAPIMetricsService()
		if err != nil {
			a.Log.Error("building the metrics listener", "error", err)
			return app.ExitCode(err)
		}
		if m != nil {
			parentServices = append(parentServices, m) // the parent serves the whole group's metrics
		}
		return a.RunGroup(ctx, workers, parentServices, l)
	}
	if err := a.OpenTransport(ctx); err != nil {
		a.Log.Error("opening the RPC transport", "error", err)
		a.Close()
		return app.ExitCode(err)
	}
	compute, err := a.ComputeClient()
	if err != nil {
		a.Log.Error("building the compute RPC client", "error", err)
		a.Close()
		return app.ExitCode(err)
	}
	svc, err := a.NewAPIService(compute)
	if err != nil {
		a.Log.Error("building the API service", "error", err)
		a.Close()
		return app.ExitCode(err)
	}
	var services []app.Service
	m, err := a.NewAPIMetricsService()
	if err != nil {
		a.Log.Error("building the metrics listener", "error", err)
		a.Close()
		return app.ExitCode(err)
	}
	if m != nil {
		services = append(services, m) // first started, last stopped: probes answer throughout
	}
	sweep, err := a.NewBuildRequestSweep(compute)
	if err != nil {
		a.Log.Error("building the build request sweep", "error", err)
		a.Close()
		return app.ExitCode(err)
	}
	if sweep != nil {
		services = append(services, sweep)
	}
	return a.Run(ctx, workers, append(services, svc)...)
}
