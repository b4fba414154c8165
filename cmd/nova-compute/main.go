// Command nova-compute runs the compute manager over a fake virt driver as a
// nova RPC service: it records itself in the services table, heartbeats,
// consumes compute and compute.<host>, and runs periodic tasks
// (update_available_resource, sync_power_states).
//
//	nova-compute --config-file /etc/nova/nova.conf
//
// [gonova] metrics_listen serves /metrics and /healthcheck (ready only after
// start-up finished). Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads
// the configuration, SIGUSR2 prints a Guru Meditation Report.
package main

import (
	"os"

	"github.com/gonova/gonova/internal/nova"
	"github.com/gonova/gonova/pkg/launcher"
)

func main() {
	os.Exit(nova.Main(os.Args[1:], nova.Options("nova-compute"), func(a *nova.App) ([]launcher.Service, error) {
		svc, err := a.NewComputeService()
		if err != nil {
			return nil, err
		}
		var services []launcher.Service
		if addr := a.Cfg.Gonova.MetricsListen; addr != "" {
			health, err := a.NewHealthService(addr)
			if err != nil {
				return nil, err
			}
			// First started, last stopped: probes answer throughout.
			services = append(services, health)
		}
		return append(services, svc), nil
	}))
}
