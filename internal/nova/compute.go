package nova

import (
	"github.com/gonova/gonova/internal/compute/manager"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/pkg/service"
)

// NewComputeService builds nova-compute: the compute manager over the fake
// virt driver (its host capacity nova's fake host's unless [gonova]
// fake_driver_* say otherwise), run as an RPC Service on
// topic compute with this configuration's heartbeats and periodic tasks.
func (a *App) NewComputeService() (*service.Service, error) {
	host := a.Cfg.Default.Host
	m, err := manager.New(manager.Options{
		Host: host,
		Driver: fake.New(fake.Options{NodeName: host, Logger: a.Log,
			VCPUs: a.Cfg.Gonova.FakeDriverVCPUs, MemoryMB: a.Cfg.Gonova.FakeDriverMemoryMB, LocalGB: a.Cfg.Gonova.FakeDriverLocalGB}),
		Store:                 a.Compute,
		ResourceSpacing:       a.Cfg.Default.UpdateResourcesInterval,
		SyncPowerStateSpacing: a.Cfg.Default.SyncPowerStateInterval,
		Logger:                a.Log,
		Registerer:            a.Metrics,
	})
	if err != nil {
		return nil, err
	}
	return service.Create(a.ServiceOptions(ComputeBinary, m))
}
