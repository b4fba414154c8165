package fake

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/pkg/clock"
)

// Defaults of Options, nova's fake host: big enough never to be the limit
// unless a test asks for it.
const (
	DefaultVCPUs        = 1000
	DefaultMemoryMB     = 800000
	DefaultLocalGB      = 600000
	DefaultConsoleLines = 1000
)

// HypervisorType and HypervisorVersion are what GetAvailableResource reports
// (nova's fake: "fake", version 1.0 as the integer 1000).
const (
	HypervisorType    = "fake"
	HypervisorVersion = 1000
)

// Options configure a Driver. The zero value is a large host with no delay.
type Options struct {
	// VCPUs, MemoryMB and LocalGB are the host's capacity; 0 means the
	// Default* value.
	VCPUs    int
	MemoryMB int
	LocalGB  int
	// CPUAllocationRatio, RAMAllocationRatio and DiskAllocationRatio let
	// Spawn overcommit the capacity by that factor (floor of capacity ×
	// ratio), as a hypervisor under nova's allocation ratios does; 0 means
	// 1.0 (no overcommit).
	CPUAllocationRatio  float64
	RAMAllocationRatio  float64
	DiskAllocationRatio float64
	// NodeName is the hypervisor_hostname; empty means the host given to
	// InitHost.
	NodeName string
	// SpawnDelay holds every Spawn this long (on Clock) before the instance
	// runs, so that a build is in flight; the wait ends early with ctx.
	SpawnDelay time.Duration
	// ConsoleLines caps each instance's console log (oldest lines go first);
	// 0 means DefaultConsoleLines.
	ConsoleLines int
	// Clock is the time source; nil means clock.Real.
	Clock clock.Clock
	// Logger receives the driver's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Driver is the in-memory hypervisor. It is safe for concurrent use.
//
//	d := fake.New(fake.Options{VCPUs: 4, MemoryMB: 8192, LocalGB: 100})
//	_ = d.InitHost(ctx, "compute-1")
//	_ = d.Spawn(ctx, spec)
//	_ = d.Crash(spec.UUID)           // test: the guest dies behind nova's back
//	info, _ := d.GetInfo(ctx, spec.UUID) // info.State == states.PowerCrashed
type Driver struct {
	opts Options

	mu        sync.Mutex
	host      string
	instances map[string]*instance
	nextID    int
}

var _ virt.Driver = (*Driver)(nil)

type instance struct {
	spec       virt.InstanceSpec
	internalID string
	state      states.PowerState
	spawning   bool
	bootedAt   time.Time // zero when not running
	console    []string
}

// New returns a Driver with no instances.
func New(opts Options) *Driver {
	if opts.VCPUs <= 0 {
		opts.VCPUs = DefaultVCPUs
	}
	if opts.MemoryMB <= 0 {
		opts.MemoryMB = DefaultMemoryMB
	}
	if opts.LocalGB <= 0 {
		opts.LocalGB = DefaultLocalGB
	}
	for _, r := range []*float64{&opts.CPUAllocationRatio, &opts.RAMAllocationRatio, &opts.DiskAllocationRatio} {
		if *r <= 0 {
			*r = 1
		}
	}
	if opts.ConsoleLines <= 0 {
		opts.ConsoleLines = DefaultConsoleLines
	}
	opts.Clock = clock.OrReal(opts.Clock)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Driver{opts: opts, instances: map[string]*instance{}}
}

// InitHost records the host the driver serves.
func (d *Driver) InitHost(ctx context.Context, host string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("virt/fake: InitHost with an empty host name")
	}
	d.mu.Lock()
	d.host = host
	d.mu.Unlock()
	return nil
}

// ListInstances returns the names of all instances, including those being
// spawned, sorted.
func (d *Driver) ListInstances(ctx context.Context) ([]string, error) {
	return d.list(ctx, func(i *instance) string { return i.spec.Name })
}

// ListInstanceUUIDs returns the uuids of all instances, including those being
// spawned, sorted.
func (d *Driver) ListInstanceUUIDs(ctx context.Context) ([]string, error) {
	return d.list(ctx, func(i *instance) string { return i.spec.UUID })
}

func (d *Driver) list(ctx context.Context, key func(*instance) string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	out := make([]string, 0, len(d.instances))
	for _, i := range d.instances {
		out = append(out, key(i))
	}
	d.mu.Unlock()
	slices.Sort(out)
	return out, nil
}

// Spawn reserves the instance's resources at once (so concurrent spawns
// cannot overcommit the host), waits Options.SpawnDelay, and then marks the
// instance running. While it waits the instance is listed in state NOSTATE.
// If ctx ends during the wait the reservation is released and ctx.Err()
// returned; if the instance is destroyed during the wait, Spawn returns
// InstanceNotFoundError.
func (d *Driver) Spawn(ctx context.Context, spec virt.InstanceSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	inst, err := d.reserve(spec)
	if err != nil {
		return err
	}
	log := d.opts.Logger.With("instance", spec.UUID)
	log.Debug("Spawning instance", "name", spec.Name, "vcpus", spec.Flavor.VCPUs,
		"memory_mb", spec.Flavor.MemoryMB, "root_gb", spec.Flavor.RootGB)

	if d.opts.SpawnDelay > 0 {
		t := d.opts.Clock.NewTimer(d.opts.SpawnDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			d.mu.Lock()
			if d.instances[spec.UUID] == inst {
				delete(d.instances, spec.UUID)
			}
			d.mu.Unlock()
			log.Debug("Spawn interrupted", "error", ctx.Err())
			return fmt.Errorf("virt/fake: spawn of %s interrupted: %w", spec.UUID, ctx.Err())
		case <-t.C():
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.instances[spec.UUID] != inst {
		return &virt.InstanceNotFoundError{UUID: spec.UUID} // destroyed while spawning
	}
	inst.spawning = false
	d.bootLocked(inst, fmt.Sprintf("%s is running", spec.Name))
	return nil
}

func (d *Driver) reserve(spec virt.InstanceSpec) (*instance, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.instances[spec.UUID]; ok {
		return nil, &virt.InstanceExistsError{UUID: spec.UUID, Name: old.spec.Name}
	}
	used := d.usedLocked()
	for _, r := range []struct {
		name        string
		want, total int
		used        int
	}{
		{"vcpus", spec.Flavor.VCPUs, overcommit(d.opts.VCPUs, d.opts.CPUAllocationRatio), used.VCPUs},
		{"memory_mb", spec.Flavor.MemoryMB, overcommit(d.opts.MemoryMB, d.opts.RAMAllocationRatio), used.MemoryMB},
		{"local_gb", spec.Flavor.RootGB, overcommit(d.opts.LocalGB, d.opts.DiskAllocationRatio), used.RootGB},
	} {
		if free := r.total - r.used; r.want > free {
			return nil, &virt.InsufficientResourcesError{Resource: r.name, Requested: r.want, Free: free}
		}
	}
	d.nextID++
	inst := &instance{
		spec:       spec,
		internalID: fmt.Sprintf("fake-%08x", d.nextID),
		state:      states.PowerNoState,
		spawning:   true,
	}
	d.consoleLocked(inst, fmt.Sprintf("spawning %s from image %q: %d vcpus, %d MB memory, %d GB disk",
		spec.Name, spec.ImageRef, spec.Flavor.VCPUs, spec.Flavor.MemoryMB, spec.Flavor.RootGB))
	d.instances[spec.UUID] = inst
	return inst, nil
}

// overcommit is capacity × ratio, rounded down.
func overcommit(capacity int, ratio float64) int { return int(math.Floor(float64(capacity) * ratio)) }

// Destroy removes the instance; an unknown uuid is not an error.
func (d *Driver) Destroy(ctx context.Context, uuid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	_, ok := d.instances[uuid]
	delete(d.instances, uuid)
	d.mu.Unlock()
	if !ok {
		d.opts.Logger.Debug("Destroy of an instance the hypervisor does not have", "instance", uuid)
		return nil
	}
	d.opts.Logger.Debug("Destroyed instance", "instance", uuid)
	return nil
}

// Reboot restarts the instance and logs the reboot on its console. A soft
// reboot of an instance that is not running becomes a hard one.
func (d *Driver) Reboot(ctx context.Context, uuid string, how virt.RebootType) error {
	if how != virt.RebootSoft && how != virt.RebootHard {
		return fmt.Errorf("virt/fake: unknown reboot type %q", how)
	}
	return d.change(ctx, uuid, "reboot", func(inst *instance) {
		switch {
		case how == virt.RebootSoft && inst.state == states.PowerRunning:
			d.consoleLocked(inst, "soft reboot requested")
		case how == virt.RebootSoft:
			d.consoleLocked(inst, fmt.Sprintf("soft reboot of a %s instance failed, falling back to hard reboot", inst.state))
		default:
			d.consoleLocked(inst, "hard reboot")
		}
		d.bootLocked(inst, fmt.Sprintf("%s is running", inst.spec.Name))
	})
}

// PowerOff stops the instance.
func (d *Driver) PowerOff(ctx context.Context, uuid string) error {
	return d.change(ctx, uuid, "power off", func(inst *instance) {
		d.setStateLocked(inst, states.PowerShutdown, "powered off")
	})
}

// PowerOn starts the instance.
func (d *Driver) PowerOn(ctx context.Context, uuid string) error {
	return d.change(ctx, uuid, "power on", func(inst *instance) {
		if inst.state != states.PowerRunning {
			d.bootLocked(inst, fmt.Sprintf("powered on; %s is running", inst.spec.Name))
		}
	})
}

// change applies fn to a spawned instance under the lock.
func (d *Driver) change(ctx context.Context, uuid, action string, fn func(*instance)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inst, err := d.getLocked(uuid)
	if err != nil {
		return err
	}
	if inst.spawning {
		return &virt.InvalidStateError{UUID: uuid, State: inst.state, Action: action}
	}
	fn(inst)
	d.opts.Logger.Debug("Instance "+action, "instance", uuid, "power_state", inst.state.String())
	return nil
}

// GetInfo returns the instance's power state.
func (d *Driver) GetInfo(ctx context.Context, uuid string) (virt.InstanceInfo, error) {
	if err := ctx.Err(); err != nil {
		return virt.InstanceInfo{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inst, err := d.getLocked(uuid)
	if err != nil {
		return virt.InstanceInfo{}, err
	}
	return virt.InstanceInfo{State: inst.state, InternalID: inst.internalID}, nil
}

// GetConsoleOutput returns the instance's console log, one event a line,
// each line starting with its UTC timestamp in brackets.
func (d *Driver) GetConsoleOutput(ctx context.Context, uuid string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inst, err := d.getLocked(uuid)
	if err != nil {
		return "", err
	}
	return strings.Join(inst.console, "\n") + "\n", nil
}

// GetDiagnostics returns the instance's diagnostics; uptime counts from the
// last boot and is 0 when the instance is not running.
func (d *Driver) GetDiagnostics(ctx context.Context, uuid string) (virt.Diagnostics, error) {
	if err := ctx.Err(); err != nil {
		return virt.Diagnostics{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inst, err := d.getLocked(uuid)
	if err != nil {
		return virt.Diagnostics{}, err
	}
	var uptime int64
	if inst.state == states.PowerRunning && !inst.bootedAt.IsZero() {
		uptime = int64(d.opts.Clock.Since(inst.bootedAt) / time.Second)
	}
	cpus := make([]virt.CPUDiagnostics, inst.spec.Flavor.VCPUs)
	for i := range cpus {
		cpus[i] = virt.CPUDiagnostics{ID: i}
	}
	return virt.Diagnostics{
		State:         inst.state.String(),
		Driver:        "fake",
		Hypervisor:    HypervisorType,
		HypervisorOS:  "fake-os",
		UptimeSeconds: uptime,
		NumCPUs:       inst.spec.Flavor.VCPUs,
		NumNICs:       0,
		NumDisks:      1,
		CPUDetails:    cpus,
		NICDetails:    []virt.NICDiagnostics{},
		DiskDetails:   []virt.DiskDiagnostics{{}},
		MemoryDetails: virt.MemoryDiagnostics{Maximum: inst.spec.Flavor.MemoryMB},
	}, nil
}

// GetAvailableResource returns the capacity from Options and the sum of the
// flavors of every instance on the host, whatever its power state (a stopped
// instance keeps its resources, as in nova).
func (d *Driver) GetAvailableResource(ctx context.Context) (virt.Resources, error) {
	if err := ctx.Err(); err != nil {
		return virt.Resources{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	used := d.usedLocked()
	node := d.opts.NodeName
	if node == "" {
		node = d.host
	}
	return virt.Resources{
		VCPUs:              d.opts.VCPUs,
		MemoryMB:           d.opts.MemoryMB,
		LocalGB:            d.opts.LocalGB,
		VCPUsUsed:          used.VCPUs,
		MemoryMBUsed:       used.MemoryMB,
		LocalGBUsed:        used.RootGB,
		DiskAvailableLeast: d.opts.LocalGB - used.RootGB,
		HypervisorType:     HypervisorType,
		HypervisorVersion:  HypervisorVersion,
		HypervisorHostname: node,
		CPUInfo:            CPUInfo(d.opts.VCPUs),
	}, nil
}

func (d *Driver) usedLocked() virt.Flavor {
	var used virt.Flavor
	for _, i := range d.instances {
		used.VCPUs += i.spec.Flavor.VCPUs
		used.MemoryMB += i.spec.Flavor.MemoryMB
		used.RootGB += i.spec.Flavor.RootGB
	}
	return used
}

func (d *Driver) getLocked(uuid string) (*instance, error) {
	inst, ok := d.instances[uuid]
	if !ok {
		return nil, &virt.InstanceNotFoundError{UUID: uuid}
	}
	return inst, nil
}

func (d *Driver) bootLocked(inst *instance, event string) {
	inst.state = states.PowerRunning
	inst.bootedAt = d.opts.Clock.Now()
	d.consoleLocked(inst, event)
}

func (d *Driver) setStateLocked(inst *instance, state states.PowerState, event string) {
	inst.state = state
	if state != states.PowerRunning {
		inst.bootedAt = time.Time{}
	}
	d.consoleLocked(inst, event)
}

// consoleTimeFormat is nova's timestamp format, in UTC.
const consoleTimeFormat = "2006-01-02T15:04:05.000000Z"

func (d *Driver) consoleLocked(inst *instance, event string) {
	line := "[" + d.opts.Clock.Now().UTC().Format(consoleTimeFormat) + "] " + event
	inst.console = append(inst.console, line)
	if over := len(inst.console) - d.opts.ConsoleLines; over > 0 {
		inst.console = slices.Delete(inst.console, 0, over)
	}
}
