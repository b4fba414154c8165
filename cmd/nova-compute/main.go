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

	"github.com/gonova/gonova/internal/app"
	"github.com/gonova/gonova/pkg/launcher"
)

func main() {
	os.Exit(app.Main(os.Args[1:], app.Options{Product: "nova-compute"}, func(a *app.App) ([]launcher.Service, error) {
		svc, err := a.NewComputeService()
		if err != nil {
			return nil, err
		}
		var services []launcher.Service
		if addr := a.Cfg.Gonova.MetricsListen; addr != "" {
			// First started, last stopped: probes answer throughout.
			services = append(services, a.NewHealthServer(addr))
		}
		return append(services, svc), nil
	}))
}
