package nova

import (
	"fmt"

	"github.com/gonova/gonova/internal/compute/manager"
	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/pkg/service"
)

// NewComputeService builds nova-compute: the compute manager over the fake
// virt driver (its host capacity nova's fake host's unless [gonova]
// fake_driver_* say otherwise), run as an RPC Service on topic compute with
// this configuration's heartbeats and periodic tasks. It
// serves the compute RPC version of the runtime's service version (the
// history in internal/compute/versions: ServiceVersion serves the newest), and
// first checks that no nova-compute in the services table is older than this
// release supports (checkComputeVersions).
func (a *App) NewComputeService() (*service.Service, error) {
	if err := a.checkComputeVersions(); err != nil {
		return nil, err
	}
	rpcVersion, err := versions.ComputeRPC(a.Version())
	if err != nil {
		return nil, fmt.Errorf("nova-compute at service version %d: %w", a.Version(), err)
	}
	host, d := a.Cfg.Default.Host, a.Cfg.Default
	ratios := computedb.AllocationRatios{CPU: d.CPUAllocationRatio, RAM: d.RAMAllocationRatio, Disk: d.DiskAllocationRatio}
	initial := computedb.AllocationRatios{CPU: d.InitialCPUAllocationRatio, RAM: d.InitialRAMAllocationRatio, Disk: d.InitialDiskAllocationRatio}
	// The fake hypervisor enforces the same overcommit the claims allow
	// (the configured ratios, or the initial ones a new node takes).
	hv := initial
	for _, r := range []struct{ set, to *float64 }{{&ratios.CPU, &hv.CPU}, {&ratios.RAM, &hv.RAM}, {&ratios.Disk, &hv.Disk}} {
		if *r.set > 0 {
			*r.to = *r.set
		}
	}
	notes, err := a.Notifications()
	if err != nil {
		return nil, err
	}
	// The other computes of a resize between two hosts (its hops).
	peers, err := a.ComputeClient()
	if err != nil {
		return nil, err
	}
	m, err := manager.New(manager.Options{
		Host:   host,
		HostIP: MyIP(a.Cfg.Default.MyIP),
		Driver: fake.New(fake.Options{NodeName: host, Logger: a.Log,
			VCPUs: a.Cfg.Gonova.FakeDriverVCPUs, MemoryMB: a.Cfg.Gonova.FakeDriverMemoryMB, LocalGB: a.Cfg.Gonova.FakeDriverLocalGB,
			CPUAllocationRatio: hv.CPU, RAMAllocationRatio: hv.RAM, DiskAllocationRatio: hv.Disk}),
		Store:                   a.Compute,
		AllocationRatios:        ratios,
		InitialAllocationRatios: initial,
		ReservedHostMemoryMB:    d.ReservedHostMemoryMB,
		ReservedHostDiskMB:      d.ReservedHostDiskMB,
		ReservedHostCPUs:        d.ReservedHostCPUs,
		ResourceSpacing:         a.Cfg.Default.UpdateResourcesInterval,
		SyncPowerStateSpacing:   a.Cfg.Default.SyncPowerStateInterval,
		Logger:                  a.Log,
		Registerer:              a.Metrics,
		RPCVersion:              rpcVersion,
		InstanceBuildTimeout:    a.Cfg.Default.InstanceBuildTimeout,
		Notifier:                notes.As(notifications.SourceCompute),
		Peers:                   peers.rpc,
		ResizeConfirmWindow:     a.Cfg.Default.ResizeConfirmWindow,
	})
	if err != nil {
		return nil, err
	}
	return service.Create(a.ServiceOptions(ComputeBinary, m))
}
