// Command nova-all runs nova-api and nova-compute in one process under one
// launcher: the embedded default of `make run`. Without transport_url and
// [database] connection it uses the in-process transport (memory://) and the
// in-memory store; with them, RabbitMQ and Postgres.
//
//	nova-all --config-file etc/nova-all.conf
package main

import (
	"fmt"
	"os"

	"github.com/gonova/gonova/internal/nova"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/launcher"
)

func main() {
	os.Exit(nova.Main(os.Args[1:], allOptions(), func(a *nova.App) ([]launcher.Service, error) {
		computeSvc, err := a.NewComputeService()
		if err != nil {
			return nil, err
		}
		client, err := a.ComputeClient()
		if err != nil {
			return nil, err
		}
		apiSvc, err := a.NewAPIService(client)
		if err != nil {
			return nil, err
		}
		metrics, err := a.NewAPIMetricsService()
		if err != nil {
			return nil, err
		}
		// Once everything has started, say where the API is and what to try.
		a.OnReady(func() {
			addr := apiSvc.Addr().String()
			fmt.Fprintf(os.Stderr, "\nnova-all is up: the compute API listens on http://%s\n"+
				"Try:\n  curl -s -H 'X-Auth-Token: admin:admin' -H 'OpenStack-API-Version: compute 2.53' http://%s/v2.1/os-services\n"+
				"Stop with Ctrl-C.\n\n", addr, addr)
		})
		// Metrics first (stopped last), then compute: the API must find an up
		// compute when it starts taking requests.
		sweep, err := a.NewBuildRequestSweep(client)
		if err != nil {
			return nil, err
		}
		var services []launcher.Service
		if metrics != nil {
			services = append(services, metrics)
		}
		services = append(services, computeSvc)
		if sweep != nil {
			services = append(services, sweep)
		}
		return append(services, apiSvc), nil
	}))
}

// allOptions runs on memory:// when transport_url is unset.
func allOptions() app.Options {
	o := nova.Options("nova-all")
	o.DefaultTransportURL = "memory://nova-all"
	return o
}
