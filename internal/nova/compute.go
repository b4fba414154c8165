package nova

import (
	"github.com/gonova/gonova/internal/compute/manager"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/pkg/service"
)

// NewComputeService builds nova-compute: the compute manager over the fake
// virt driver (its host capacity nova's fake host's), run as an RPC Service on
// topic compute with this configuration's heartbeats and periodic tasks.
func (a *App) NewComputeService() (*service.Service, error) {
	host := a.Cfg.Default.Host
	m, err := manager.New(manager.Options{
		Host:                  host,
		Driver:                fake.New(fake.Options{NodeName: host, Logger: a.Log}),
		Store:                 a.Compute,
		ResourceSpacing:       a.Cfg.Default.UpdateResourcesInterval,
		SyncPowerStateSpacing: a.Cfg.Default.SyncPowerStateInterval,
		InstanceBuildTimeout:  a.Cfg.Default.InstanceBuildTimeout,
		Logger:                a.Log,
		Registerer:            a.Metrics,
	})
	if err != nil {
		return nil, err
	}
	return service.Create(a.ServiceOptions(ComputeBinary, m))
}
