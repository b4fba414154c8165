package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Endpoint is the compute RPC API (package rpcapi) as a ComputeManager serves
// it: each exported method is served under its snake_case name at version
// 6.0. It is a type of its own so that the manager's lifecycle methods
// (InitHost, Shutdown, ...) are never reachable over RPC.
//
// Every handler reads the instance from the database by uuid, whatever the
// message carried, and moves its task state with compare-and-set updates
// (computedb.InstanceUpdate.ExpectTaskState), as nova's
// instance.save(expected_task_state=...), so that a racing request loses
// cleanly instead of overwriting.
type Endpoint struct{ m *ComputeManager }

// opLog is the logger of one handler run.
func (m *ComputeManager) opLog(ctx context.Context, method, uuid string) *slog.Logger {
	l := m.log.With("method", method, "instance_uuid", uuid)
	if rc, ok := rpcsvc.ContextFrom(ctx); ok && rc.RequestID != "" {
		l = l.With("request_id", rc.RequestID)
	}
	return l
}

// instanceName is nova's default instance_name_template, "instance-%08x" of
// the row id.
func instanceName(in computedb.Instance) string { return fmt.Sprintf("instance-%08x", in.ID) }

// buildAndRunInstance builds the instance: nova's build_and_run_instance,
// without networks, volumes or rescheduling. The instance moves from vm_state
// building to task_state spawning (a compare-and-set on the task state the
// API left, so a duplicate cast does nothing), its resource claim on this
// host's node is checked (made when it has none; a node that cannot take it
// puts it in ERROR with nova's "Insufficient compute resources: ..." fault),
// the driver spawns it, and it becomes active and running with launched_at
// set. A driver
// failure puts it in vm_state error and logs why. An instance deleted before
// or during the build is left deleted (and destroyed on the hypervisor).
//
// With power_on false (6.1), the guest is powered off once spawned and the
// instance ends in vm_state stopped, power_state shutdown (nova's
// driver.spawn(power_on=False)). A manager serving 6.0 has no such argument
// and ignores it.
//
// Errors returned (and then logged by the RPC server) are only database
// errors; those before the claim are retryable, so the cast is redelivered.
func (e *Endpoint) buildAndRunInstance(ctx context.Context, args rpcapi.BuildAndRunInstanceArgs) error {
	m := e.m
	id := args.Instance.UUID
	powerOn := args.PowerOn == nil || *args.PowerOn || m.rpcVersion == "6.0"
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodBuildAndRunInstance, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodBuildAndRunInstance, id)

	inst, err := m.store.GetInstance(ctx, id)
	if errors.Is(err, computedb.ErrNotFound) {
		log.Info("Instance was deleted before its build started")
		m.met.builds.WithLabelValues(buildAborted).Inc()
		return nil
	}
	if err != nil {
		return rpcsvc.Retryable(fmt.Errorf("build of %s: reading the instance: %w", id, err))
	}
	if inst.VMState != states.VMBuilding || !slices.Contains(buildTasks, inst.TaskState) {
		m.skipBuild(log, inst)
		return nil
	}
	nodeID, err := m.nodeRow(ctx)
	if err != nil {
		return rpcsvc.Retryable(fmt.Errorf("build of %s: this host's compute node is not recorded: %w", id, err))
	}
	claimed, err := m.store.UpdateInstance(ctx, id, computedb.InstanceUpdate{
		TaskState: ptr(states.TaskSpawning), ExpectTaskState: ptr(inst.TaskState),
	})
	switch {
	case errors.Is(err, computedb.ErrNotFound):
		log.Info("Instance was deleted before its build started")
		m.met.builds.WithLabelValues(buildAborted).Inc()
		return nil
	case errors.Is(err, computedb.ErrConflict):
		if cur, gerr := m.store.GetInstance(ctx, id); gerr == nil {
			m.skipBuild(log, cur)
		} else {
			log.Info("Instance was deleted before its build started")
			m.met.builds.WithLabelValues(buildAborted).Inc()
		}
		return nil
	case err != nil:
		return rpcsvc.Retryable(fmt.Errorf("build of %s: claiming the instance: %w", id, err))
	}
	m.notes.Instance(ctx, notifications.CreateStart, claimed, nil)

	// nova's resource tracker: the instance must hold its resources on this
	// host's node. The scheduler's claim is found there (claims are
	// idempotent); an instance sent here without one (or placed before the
	// node's capacity shrank) claims now, and a node that cannot take it
	// fails the build as nova does when it cannot reschedule.
	claimed, err = m.store.ClaimInstance(ctx, computedb.ClaimRequest{InstanceUUID: id, NodeID: nodeID})
	switch {
	case errors.Is(err, computedb.ErrNotFound):
		log.Info("Instance was deleted before its build started")
		m.met.builds.WithLabelValues(buildAborted).Inc()
		return nil
	case errors.Is(err, computedb.ErrInsufficientResources), errors.Is(err, computedb.ErrConflict), errors.Is(err, computedb.ErrNodeNotFound):
		m.claimFailed(ctx, log, id, err)
		return nil
	case err != nil:
		m.claimFailed(ctx, log, id, fmt.Errorf("claiming its resources: %w", err))
		return nil
	}
	node := claimed.Node

	spec := virt.InstanceSpec{
		UUID: id,
		Name: instanceName(claimed),
		Flavor: virt.Flavor{Name: claimed.FlavorID, VCPUs: claimed.VCPUs,
			MemoryMB: int(claimed.MemoryMB), RootGB: int(claimed.RootGB)},
		ImageRef: claimed.ImageRef,
	}
	log.Info("Spawning instance", "name", spec.Name, "node", node, "vcpus", spec.Flavor.VCPUs,
		"memory_mb", spec.Flavor.MemoryMB, "root_gb", spec.Flavor.RootGB, "image_ref", spec.ImageRef)
	start := time.Now()
	err = m.driver.Spawn(ctx, spec)
	m.met.observe(callSpawn, start)
	if err != nil {
		m.buildFailed(ctx, log, id, err)
		return nil
	}

	vmState, assumed := states.VMActive, states.PowerRunning
	if !powerOn {
		pstart := time.Now()
		err := m.driver.PowerOff(ctx, id)
		m.met.observe(callPowerOff, pstart)
		if err != nil {
			m.buildFailed(ctx, log, id, fmt.Errorf("powering off the new guest (power_on=false): %w", err))
			return nil
		}
		vmState, assumed = states.VMStopped, states.PowerShutdown
	}
	power, perr := m.powerState(ctx, id)
	if perr != nil {
		log.Warn("Cannot read the power state of the spawned instance; recording "+assumed.String(), "error", perr)
		power = assumed
	}
	now := m.clock.Now().UTC()
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	_, err = m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{
		VMState: ptr(vmState), PowerState: ptr(power), TaskState: ptr(states.TaskNone),
		LaunchedAt: &now, ExpectTaskState: ptr(states.TaskSpawning),
	})
	switch {
	case errors.Is(err, computedb.ErrNotFound), errors.Is(err, computedb.ErrConflict):
		// Deleted while it spawned: the delete won; do not leave a guest
		// behind that no row accounts for.
		log.Info("Instance was deleted while it spawned; destroying it on the hypervisor")
		m.destroy(wctx, log, id)
		m.met.builds.WithLabelValues(buildAborted).Inc()
		m.notes.Instance(wctx, notifications.CreateError, claimed, &rpcapi.InstanceNotFoundError{UUID: id})
		return nil
	case err != nil:
		// The guest runs but its row still says spawning; init_host moves
		// such an instance to error at the next start.
		m.met.builds.WithLabelValues(buildFailure).Inc()
		return fmt.Errorf("build of %s: the instance runs but recording it failed: %w", id, err)
	}
	m.met.builds.WithLabelValues(buildSuccess).Inc()
	m.notes.InstanceByUUID(wctx, notifications.CreateEnd, id, nil)
	log.Info("Instance spawned", "took", time.Since(start).Round(time.Millisecond), "power_state", power.String(), "vm_state", string(vmState))
	return nil
}

// skipBuild logs and counts a build request for an instance that is not
// waiting to be built.
func (m *ComputeManager) skipBuild(log *slog.Logger, inst computedb.Instance) {
	if inst.TaskState == states.TaskDeleting {
		log.Info("Instance is being deleted; not building it")
		m.met.builds.WithLabelValues(buildAborted).Inc()
		return
	}
	log.Info("Instance is already built or being built; ignoring the duplicate request",
		"vm_state", inst.VMState, "task_state", inst.TaskState)
	m.met.builds.WithLabelValues(buildDuplicate).Inc()
}

// buildFailed records a failed spawn: vm_state error and no task, unless the
// instance was deleted meanwhile (a terminate destroys a spawning guest, and
// then Spawn fails).
func (m *ComputeManager) buildFailed(ctx context.Context, log *slog.Logger, id string, cause error) {
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	if !errors.Is(cause, virt.ErrInstanceExists) && !errors.Is(cause, virt.ErrInstanceNotFound) {
		// Release whatever a half-done spawn holds; a guest that already
		// existed is not ours to remove.
		m.destroy(wctx, log, id)
	}
	_, err := m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{
		VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone), PowerState: ptr(states.PowerNoState),
		ExpectTaskState: ptr(states.TaskSpawning),
		Fault:           &computedb.Fault{Code: 500, Message: "Build of instance " + id + " aborted: " + cause.Error()},
	})
	switch {
	case errors.Is(err, computedb.ErrNotFound), errors.Is(err, computedb.ErrConflict):
		log.Info("Instance was deleted while it spawned", "spawn_error", cause)
		m.met.builds.WithLabelValues(buildAborted).Inc()
	case err != nil:
		log.Error("Instance failed to spawn, and setting it to ERROR failed", "reason", cause, "error", err)
		m.met.builds.WithLabelValues(buildFailure).Inc()
	default:
		log.Error("Instance failed to spawn; set to ERROR", "reason", cause)
		m.met.builds.WithLabelValues(buildFailure).Inc()
		m.release(wctx, log, id)
	}
	m.notes.InstanceByUUID(wctx, notifications.CreateError, id, cause)
}

// claimFailed records a build this host cannot take: vm_state error, no
// task, and the claim's reason as the fault, as nova records a
// ComputeResourcesUnavailable it cannot reschedule ("Insufficient compute
// resources: ..."). The instance stays on this host, as buildFailed leaves
// it (nova clears host and node in both cases), so the compute still
// counts it and a delete still reaches the hypervisor. An instance deleted
// or changed meanwhile is left alone.
func (m *ComputeManager) claimFailed(ctx context.Context, log *slog.Logger, id string, cause error) {
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	msg := cause.Error()
	if !errors.Is(cause, computedb.ErrInsufficientResources) {
		msg = "Build of instance " + id + " aborted: " + msg
	}
	_, err := m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{
		VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone), PowerState: ptr(states.PowerNoState),
		ExpectTaskState: ptr(states.TaskSpawning),
		Fault:           &computedb.Fault{Code: 500, Message: msg},
	})
	switch {
	case errors.Is(err, computedb.ErrNotFound), errors.Is(err, computedb.ErrConflict):
		log.Info("Instance was deleted while its resources were claimed", "claim_error", cause)
		m.met.builds.WithLabelValues(buildAborted).Inc()
	case err != nil:
		log.Error("This host cannot take the instance, and setting it to ERROR failed", "reason", cause, "error", err)
		m.met.builds.WithLabelValues(buildFailure).Inc()
	default:
		log.Error("This host cannot take the instance; set to ERROR", "reason", msg)
		m.met.builds.WithLabelValues(buildFailure).Inc()
	}
	m.notes.InstanceByUUID(wctx, notifications.CreateError, id, cause)
}

// release gives back the resources of an instance that failed: one in
// ERROR holds none, as nova deletes its allocations. Releasing is
// idempotent, so a retried failure path cannot give them back twice.
func (m *ComputeManager) release(ctx context.Context, log *slog.Logger, id string) {
	if _, err := m.store.ReleaseClaim(ctx, id); err != nil {
		log.Error("Releasing the instance's claim failed; it holds its resources until it is deleted", "error", err)
	}
}

// destroy removes a guest from the hypervisor; one it does not have is fine.
func (m *ComputeManager) destroy(ctx context.Context, log *slog.Logger, id string) error {
	start := time.Now()
	err := m.driver.Destroy(ctx, id)
	m.met.observe(callDestroy, start)
	if err != nil && !errors.Is(err, virt.ErrInstanceNotFound) {
		log.Error("Destroying the instance on the hypervisor failed", "error", err)
		return err
	}
	return nil
}

// terminateInstance deletes the instance: nova's terminate_instance. Task
// state deleting (nova-api normally set it already), the driver destroys the
// guest (one the hypervisor does not have is fine: deletes are retried), the
// row is marked deleted with terminated_at and soft-deleted. An instance
// already gone is no error. When the driver fails, the instance goes to
// vm_state error and the error is returned.
func (e *Endpoint) terminateInstance(ctx context.Context, args rpcapi.TerminateInstanceArgs) error {
	m := e.m
	id := args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodTerminateInstance, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodTerminateInstance, id)

	inst, err := m.store.GetInstance(ctx, id)
	for attempt := 0; err == nil && inst.TaskState != states.TaskDeleting; attempt++ {
		if attempt == 3 {
			return fmt.Errorf("terminate of %s: its task state kept changing (now %q)", id, inst.TaskState)
		}
		_, err = m.store.UpdateInstance(ctx, id, computedb.InstanceUpdate{
			TaskState: ptr(states.TaskDeleting), ExpectTaskState: ptr(inst.TaskState)})
		if errors.Is(err, computedb.ErrConflict) {
			inst, err = m.store.GetInstance(ctx, id)
			continue
		}
		if err == nil {
			inst.TaskState = states.TaskDeleting
		}
	}
	if errors.Is(err, computedb.ErrNotFound) {
		log.Info("Instance already deleted; making sure the hypervisor has no guest left")
		return m.destroy(ctx, log, id)
	}
	if err != nil {
		return rpcsvc.Retryable(fmt.Errorf("terminate of %s: %w", id, err))
	}
	m.notes.Instance(ctx, notifications.DeleteStart, inst, nil)

	if err := m.destroy(ctx, log, id); err != nil {
		wctx, cancel := writeCtx(ctx)
		defer cancel()
		if _, uerr := m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{
			VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone),
			Fault: &computedb.Fault{Code: 500, Message: "Terminating the instance failed: " + err.Error()}}); uerr != nil {
			log.Error("Setting the instance to ERROR failed", "error", uerr)
		}
		return fmt.Errorf("terminate of %s: %w", id, err)
	}
	now := m.clock.Now().UTC()
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	_, err = m.store.UpdateInstance(wctx, id, computedb.InstanceUpdate{
		VMState: ptr(states.VMDeleted), TaskState: ptr(states.TaskNone), PowerState: ptr(states.PowerNoState), TerminatedAt: &now})
	if err != nil && !errors.Is(err, computedb.ErrNotFound) {
		return fmt.Errorf("terminate of %s: the guest is destroyed but marking the row deleted failed: %w", id, err)
	}
	if err := m.store.DeleteInstance(wctx, id); err != nil && !errors.Is(err, computedb.ErrNotFound) {
		return fmt.Errorf("terminate of %s: the guest is destroyed but deleting the row failed: %w", id, err)
	}
	log.Info("Instance destroyed and deleted")
	inst.PowerState, inst.TerminatedAt = states.PowerNoState, &now
	m.notes.Instance(wctx, notifications.DeleteEnd, inst, nil)
	return nil
}

// rebootInstance reboots the instance: nova's reboot_instance. The task
// state becomes rebooting or rebooting_hard (compare-and-set from none or
// from what nova-api set), the driver reboots, and the instance ends with
// the driver's power state, vm_state active when it runs, and no task. A
// driver failure clears the task too, and sets vm_state error when the guest
// is not running after it; the error is returned.
func (e *Endpoint) rebootInstance(ctx context.Context, args rpcapi.RebootInstanceArgs) error {
	m := e.m
	id := args.Instance.UUID
	how := virt.RebootType(args.RebootType)
	if how != virt.RebootSoft && how != virt.RebootHard {
		return fmt.Errorf("reboot of %s: reboot type %q is neither SOFT nor HARD", id, args.RebootType)
	}
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodRebootInstance, id)
	if err != nil {
		return err
	}
	defer end()
	log := m.opLog(ctx, rpcapi.MethodRebootInstance, id).With("reboot_type", string(how))

	inst, err := m.store.GetInstance(ctx, id)
	if errors.Is(err, computedb.ErrNotFound) {
		return &rpcapi.InstanceNotFoundError{UUID: id}
	}
	if err != nil {
		return rpcsvc.Retryable(fmt.Errorf("reboot of %s: %w", id, err))
	}
	switch {
	case inst.VMState == states.VMBuilding || inst.VMState == states.VMDeleted:
		return &rpcapi.InstanceInvalidStateError{UUID: id, Attr: "vm_state", State: string(inst.VMState), Method: "reboot"}
	case !slices.Contains(rebootTasks, inst.TaskState):
		return &rpcapi.InstanceInvalidStateError{UUID: id, Attr: "task_state", State: string(inst.TaskState), Method: "reboot"}
	}
	task := states.TaskRebooting
	if how == virt.RebootHard {
		task = states.TaskRebootingHard
	}
	_, err = m.store.UpdateInstance(ctx, id, computedb.InstanceUpdate{TaskState: &task, ExpectTaskState: ptr(inst.TaskState)})
	switch {
	case errors.Is(err, computedb.ErrNotFound):
		return &rpcapi.InstanceNotFoundError{UUID: id}
	case errors.Is(err, computedb.ErrConflict):
		cur, gerr := m.store.GetInstance(ctx, id)
		if gerr != nil {
			return &rpcapi.InstanceNotFoundError{UUID: id}
		}
		return &rpcapi.InstanceInvalidStateError{UUID: id, Attr: "task_state", State: string(cur.TaskState), Method: "reboot"}
	case err != nil:
		return rpcsvc.Retryable(fmt.Errorf("reboot of %s: %w", id, err))
	}
	m.notes.Instance(ctx, notifications.RebootStart, inst, nil)

	start := time.Now()
	rerr := m.driver.Reboot(ctx, id, how)
	m.met.observe(callReboot, start)
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	power, perr := m.powerState(wctx, id)
	if perr != nil {
		log.Warn("Cannot read the power state after the reboot", "error", perr)
	}
	u := computedb.InstanceUpdate{TaskState: ptr(states.TaskNone), ExpectTaskState: &task}
	if perr == nil {
		u.PowerState = ptr(power)
		if power == states.PowerRunning {
			u.VMState = ptr(states.VMActive)
		}
	}
	if rerr != nil && (perr != nil || power != states.PowerRunning) {
		u.VMState = ptr(states.VMError)
	}
	_, uerr := m.store.UpdateInstance(wctx, id, u)
	switch {
	case errors.Is(uerr, computedb.ErrNotFound), errors.Is(uerr, computedb.ErrConflict):
		log.Info("Instance was deleted or changed during the reboot; leaving it as it is", "reboot_error", rerr)
		return nil
	case uerr != nil && rerr == nil:
		return fmt.Errorf("reboot of %s: recording the result: %w", id, uerr)
	}
	m.notes.Rebooted(wctx, id, rerr, perr == nil && power == states.PowerRunning)
	if rerr != nil {
		log.Error("Reboot failed", "error", rerr, "power_state", power.String())
		return fmt.Errorf("reboot of %s: %w", id, rerr)
	}
	if power != states.PowerRunning {
		log.Warn("Instance is not running after the reboot", "power_state", power.String())
		return nil
	}
	log.Info("Instance rebooted")
	return nil
}

// GetConsoleOutput returns the instance's console log, the last TailLength
// lines of it when TailLength is set (0: nothing), as nova's
// get_console_output. A trailing newline does not count as a line (nova's
// _tail_log counts the empty string after it, returning one line fewer).
func (e *Endpoint) GetConsoleOutput(ctx context.Context, args rpcapi.GetConsoleOutputArgs) (string, error) {
	m := e.m
	id := args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodGetConsoleOutput, id)
	if err != nil {
		return "", err
	}
	defer end()
	start := time.Now()
	out, err := m.driver.GetConsoleOutput(ctx, id)
	m.met.observe(callGetConsoleOutput, start)
	if err != nil {
		return "", driverError(id, "get_console_output", err)
	}
	out = strings.ReplaceAll(out, "\x00", "")
	if args.TailLength != nil {
		out = tailLines(out, *args.TailLength)
	}
	return out, nil
}

// GetDiagnostics returns the instance's diagnostics from the driver.
func (e *Endpoint) GetDiagnostics(ctx context.Context, args rpcapi.GetDiagnosticsArgs) (rpcapi.Diagnostics, error) {
	m := e.m
	id := args.Instance.UUID
	ctx, end, err := m.work.begin(ctx, rpcapi.MethodGetDiagnostics, id)
	if err != nil {
		return rpcapi.Diagnostics{}, err
	}
	defer end()
	start := time.Now()
	d, err := m.driver.GetDiagnostics(ctx, id)
	m.met.observe(callGetDiagnostics, start)
	if err != nil {
		return rpcapi.Diagnostics{}, driverError(id, "get_diagnostics", err)
	}
	return d, nil
}

// driverError maps the driver's typed errors to the ones that cross the wire
// with nova's classes.
func driverError(id, method string, err error) error {
	var inv *virt.InvalidStateError
	switch {
	case errors.Is(err, virt.ErrInstanceNotFound):
		return &rpcapi.InstanceNotFoundError{UUID: id}
	case errors.As(err, &inv):
		return &rpcapi.InstanceInvalidStateError{UUID: id, Attr: "power_state", State: inv.State.String(), Method: method}
	}
	return fmt.Errorf("%s of %s: %w", method, id, err)
}

// tailLines returns the last n lines of s (none when n <= 0), keeping a
// trailing newline.
func tailLines(s string, n int) string {
	if n <= 0 {
		return ""
	}
	body, nl := strings.CutSuffix(s, "\n")
	lines := strings.Split(body, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n")
	if nl {
		out += "\n"
	}
	return out
}
