package virt

import "context"

// Driver is the hypervisor as the compute manager sees it, a subset of nova's
// ComputeDriver. Implementations are safe for concurrent use. Instances are
// identified by their uuid.
//
//	var d virt.Driver = fake.New(fake.Options{})
//	if err := d.InitHost(ctx, "compute-1"); err != nil {
//		return err
//	}
//	err := d.Spawn(ctx, virt.InstanceSpec{UUID: id, Name: "instance-00000001",
//		Flavor: virt.Flavor{Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1}})
//	switch {
//	case errors.Is(err, virt.ErrInsufficientResources):
//		// reschedule
//	case errors.Is(err, virt.ErrInstanceExists):
//		// already built: a retried request
//	}
type Driver interface {
	// InitHost prepares the driver to serve host, before the service takes
	// any request (nova's init_host).
	InitHost(ctx context.Context, host string) error

	// ListInstances returns the names of the instances on the hypervisor,
	// sorted.
	ListInstances(ctx context.Context) ([]string, error)
	// ListInstanceUUIDs returns the uuids of the instances on the hypervisor,
	// sorted.
	ListInstanceUUIDs(ctx context.Context) ([]string, error)

	// Spawn creates and boots an instance. It fails with InstanceExistsError
	// when the uuid is already on the hypervisor, InsufficientResourcesError
	// when the host lacks capacity, and ctx.Err() when ctx ends first (then
	// nothing is left behind).
	Spawn(ctx context.Context, spec InstanceSpec) error
	// Destroy removes an instance and frees its resources. Destroying an
	// instance the hypervisor does not have succeeds, as in nova: deletes are
	// retried and must be idempotent.
	Destroy(ctx context.Context, uuid string) error
	// Reboot restarts an instance. A soft reboot of an instance that is not
	// running falls back to a hard reboot, as nova's libvirt driver does.
	Reboot(ctx context.Context, uuid string, how RebootType) error
	// PowerOff stops an instance (state SHUTDOWN).
	PowerOff(ctx context.Context, uuid string) error
	// PowerOn starts a stopped instance (state RUNNING).
	PowerOn(ctx context.Context, uuid string) error
	// Pause freezes a running instance in memory (state PAUSED); Unpause
	// runs a paused one again.
	Pause(ctx context.Context, uuid string) error
	Unpause(ctx context.Context, uuid string) error
	// Suspend saves a running or paused instance to disk (state
	// SUSPENDED); Resume runs a suspended one again.
	Suspend(ctx context.Context, uuid string) error
	Resume(ctx context.Context, uuid string) error

	// GetInfo returns the instance's power state as the hypervisor sees it.
	GetInfo(ctx context.Context, uuid string) (InstanceInfo, error)
	// GetConsoleOutput returns the instance's console log.
	GetConsoleOutput(ctx context.Context, uuid string) (string, error)
	// GetDiagnostics returns the instance's diagnostics.
	GetDiagnostics(ctx context.Context, uuid string) (Diagnostics, error)
	// GetAvailableResource returns the host's capacity and current usage
	// (nova's get_available_resource for the driver's node).
	GetAvailableResource(ctx context.Context) (Resources, error)
}
