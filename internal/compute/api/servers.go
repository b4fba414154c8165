package computeapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/internal/pyregex"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// Action names, as nova's check_instance_state reports them.
const (
	actionReboot           = ActionReboot
	actionGetConsoleOutput = "get_console_output"
)

// Flavor is the part of a flavor an instance is sized by.
type Flavor struct {
	ID       string
	Name     string
	VCPUs    int
	MemoryMB int64
	RootGB   int64
	// The rest of the flavor, which the instance keeps a copy of.
	EphemeralGB int64
	Swap        int64
	RXTXFactor  float64
	ExtraSpecs  map[string]string
}

// CreateRequest is a boot: MinCount to MaxCount instances of Flavor from
// ImageRef (one when both are zero; see CreateServers).
type CreateRequest struct {
	Name     string
	Flavor   Flavor
	ImageRef string
	Metadata map[string]string
	// AvailabilityZone restricts the placement to the zone's hosts and is
	// kept on the instance ("" for any). ForcedHost and ForcedNode pin it
	// (an admin's "zone:host:node").
	AvailabilityZone       string
	ForcedHost, ForcedNode string
	// Description is the 2.19 description ("" none); Hostname the 2.90
	// hostname ("" : nova's default, the sanitized name).
	Description string
	Hostname    string
	// KeyName is the key pair the server boots with ("" for none); the
	// API has checked that the caller has it.
	KeyName string
	// Tags are the server's first tags (2.52).
	Tags []string
	// Group is the uuid of the server group the instance joins (the
	// scheduler hint "group"), or empty.
	Group string
	// MinCount and MaxCount are nova's min_count and max_count: 0 means 1,
	// and a MaxCount of 0 means MinCount. MaxCount instances are made
	// (fewer only where a quota check allows fewer, never below MinCount).
	MinCount, MaxCount int
}

// Create boots an instance, as nova's create does without a conductor: the
// row is stored (vm_state building, task_state scheduling, the caller's
// user and project), the scheduler places it (claiming its resources on the
// host, atomically across every API process), and build_and_run_instance is
// cast to its host. It returns the instance as last written; for a request
// of several instances (CreateServers), the first.
//
// As in nova, a boot that fails after the row exists is not an error of the
// request: when no host fits (NoValidHost) or the cast fails, the instance
// goes to vm_state error with the reason as its fault, and Create returns
// it with a nil error. An instance deleted while it was scheduled is
// returned as it was created. Only store failures are errors.
//
// The row is written only within the project's instances, cores and ram
// quotas (and, with a group, its members quota), checked in the same
// transaction: a refusal is a *computedb.OverQuotaError and no row exists.
// An unknown group is an *InstanceGroupNotFoundError.
//
// The work goes on when ctx is cancelled (the client hung up): only the RPC
// timeout bounds it.
func (a *API) Create(ctx context.Context, c Caller, req CreateRequest) (computedb.Instance, error) {
	res, err := a.CreateServers(ctx, c, req)
	if len(res.Instances) == 0 {
		return computedb.Instance{}, err
	}
	return res.Instances[0], err
}

// buildCastFault is the fault of an instance whose build request could not
// be sent to host: the broker's outage and a host without a queue on it are
// said in words, as users see the fault.
func buildCastFault(host string, err error) string {
	switch {
	case errors.Is(err, rpcsvc.ErrUnroutable):
		return fmt.Sprintf("Build request not delivered: compute host %s has no queue on the message broker "+
			"(its nova-compute is down or has not reconnected since a broker restart). Set to error state.", host)
	case errors.Is(err, rpcsvc.ErrUnavailable):
		return fmt.Sprintf("Build request not sent to compute host %s: the message broker is unavailable. Set to error state.", host)
	}
	return fmt.Sprintf("Could not send the build request to host %s: %v", host, err)
}

// undoTask puts back the task state prev that an action replaced with task
// before its cast failed, so the instance is not left in a task no compute
// will ever finish; if anyone changed the task meanwhile, theirs stands.
func (a *API) undoTask(ctx context.Context, inst computedb.Instance, task, prev states.TaskState) {
	_, err := a.compute.UpdateInstance(ctx, inst.UUID, computedb.InstanceUpdate{TaskState: &prev, ExpectTaskState: &task})
	if err != nil && !errors.Is(err, computedb.ErrConflict) && !errors.Is(err, computedb.ErrNotFound) {
		a.log.ErrorContext(ctx, "could not undo the task state after a failed cast", "instance_uuid", inst.UUID, "task_state", task, "error", err)
	}
}

// setError puts inst in vm_state error with no task, recording why as its
// fault (code 500, as nova records scheduling and build failures), releases
// the resources it may hold (an instance in ERROR holds none, as nova deletes
// its allocations), and returns the row as written; inst itself when it
// could not be written (deleted meanwhile, or a store failure, which is
// logged).
func (a *API) setError(ctx context.Context, inst computedb.Instance, reason string) computedb.Instance {
	st, none := states.VMError, states.TaskNone
	f := &computedb.Fault{Code: http.StatusInternalServerError, Message: reason}
	out, err := a.compute.UpdateInstance(ctx, inst.UUID, computedb.InstanceUpdate{VMState: &st, TaskState: &none, Fault: f})
	if _, rerr := a.compute.ReleaseClaim(ctx, inst.UUID); rerr != nil {
		a.log.ErrorContext(ctx, "could not release the claim of an instance in ERROR state; it holds its resources until it is deleted",
			"instance_uuid", inst.UUID, "error", rerr)
	}
	if err != nil {
		if !errors.Is(err, computedb.ErrNotFound) {
			a.log.ErrorContext(ctx, "could not set instance to ERROR state", "instance_uuid", inst.UUID, "error", err)
		}
		return inst
	}
	return out
}

// Get returns the instance id if the caller may see it (its project's, or
// any for an admin); otherwise, or when there is none, an
// *InstanceNotFoundError.
func (a *API) Get(ctx context.Context, c Caller, id string) (computedb.Instance, error) {
	in, err := a.compute.GetInstance(ctx, id)
	if errors.Is(err, computedb.ErrNotFound) {
		return computedb.Instance{}, &InstanceNotFoundError{UUID: id}
	}
	if err != nil {
		return computedb.Instance{}, err
	}
	if !c.Admin && in.ProjectID != c.ProjectID {
		return computedb.Instance{}, &InstanceNotFoundError{UUID: id}
	}
	return in, nil
}

// ListRequest selects a page of instances: nova's get_all.
type ListRequest struct {
	// AllProjects lists every project's instances; the caller must have
	// been authorised for that (nova's all_tenants policy). Otherwise only
	// the caller's project's are listed (the caller's own, for a caller
	// with no project), whatever Filter says of the project.
	AllProjects bool
	// Limit is the page size; 0 means no limit.
	Limit int
	// Marker is the uuid of the last instance of the previous page.
	Marker string
	// Filter is the rest of the search: nova's search options as the HTTP
	// API validated them for the caller and the microversion. Its
	// ProjectID, Limit and Marker are ignored (see above).
	Filter computedb.InstanceFilter
	// IP and IP6 are nova's ip and ip6 filters: a regex the instance's
	// fixed IPv4 or IPv6 address must match. gonova has no networking:
	// no instance has an address, so either gives an empty list, as nova's
	// gives for instances without ports.
	IP, IP6 *pyregex.Regex
}

// List returns a page of instances in the filter's order (newest first by
// default). A marker that names no instance is a *MarkerNotFoundError.
func (a *API) List(ctx context.Context, c Caller, req ListRequest) ([]computedb.Instance, error) {
	if req.IP != nil || req.IP6 != nil {
		return []computedb.Instance{}, nil
	}
	f := req.Filter
	f.ProjectID, f.Limit, f.Marker = "", req.Limit, req.Marker
	if !req.AllProjects {
		f.Exact = maps.Clone(f.Exact)
		if f.Exact == nil {
			f.Exact = map[computedb.Column][]string{}
		}
		delete(f.Exact, computedb.ColProjectID)
		if c.ProjectID != "" {
			f.ProjectID = c.ProjectID
		} else {
			f.Exact[computedb.ColUserID] = []string{c.UserID}
		}
	}
	list, err := a.compute.ListInstances(ctx, f)
	if errors.Is(err, computedb.ErrNotFound) {
		return nil, &MarkerNotFoundError{Marker: req.Marker}
	}
	return list, err
}

// computeUp reports whether host's nova-compute service is up by the
// registry's clock; a host with no service (or none at all) is not.
func (a *API) computeUp(ctx context.Context, host string) (bool, error) {
	if host == "" {
		return false, nil
	}
	svc, err := a.services.GetByHostBinary(ctx, host, registry.BinaryCompute)
	if errors.Is(err, registry.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now, err := a.services.Now(ctx)
	if err != nil {
		return false, err
	}
	return servicegroup.IsUp(svc, now, a.downTime), nil
}

// Delete deletes inst. An instance with no host, or whose compute is down
// or gone, is deleted here (nova's local delete); otherwise its task state
// becomes deleting and terminate_instance is cast to its host, which
// removes the row. An instance deleted meanwhile is no error.
func (a *API) Delete(ctx context.Context, c Caller, inst computedb.Instance) error {
	if err := checkLock(c, inst); err != nil {
		return err
	}
	up, err := a.computeUp(ctx, inst.Host)
	if err != nil {
		return err
	}
	if err := a.recordAction(ctx, c, inst, ActionDelete); err != nil {
		return err
	}
	log := a.logger(c).With("instance_uuid", inst.UUID, "host", inst.Host)
	if !up {
		a.notes.Instance(ctx, notifications.DeleteStart, inst, nil)
		if err := a.compute.DeleteInstance(ctx, inst.UUID); err != nil && !errors.Is(err, computedb.ErrNotFound) {
			return err
		}
		a.notes.Instance(ctx, notifications.DeleteEnd, inst, nil)
		log.InfoContext(ctx, "server deleted locally (no reachable compute)")
		return nil
	}
	st, prev := states.TaskDeleting, inst.TaskState
	inst, err = a.compute.UpdateInstance(ctx, inst.UUID, computedb.InstanceUpdate{TaskState: &st})
	if errors.Is(err, computedb.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	cctx, cancel := a.detached(ctx)
	defer cancel()
	if err := a.rpc.TerminateInstance(rpcContext(cctx, c), inst); err != nil {
		a.undoTask(cctx, inst, st, prev)
		return fmt.Errorf("casting terminate_instance to %s: %w", inst.Host, err)
	}
	log.InfoContext(ctx, "server delete cast to its compute")
	a.cleanResizeSource(cctx, c, inst)
	return nil
}

// RebootRequest reboots Instance: virt.RebootSoft or virt.RebootHard.
type RebootRequest struct {
	Instance computedb.Instance
	Type     virt.RebootType
}

// Reboot is nova's reboot: check_instance_state (a soft reboot from active
// with no task; a hard one also from stopped, paused, suspended or error,
// and interrupting another reboot or a pause, suspend or resume; never
// before the instance was launched), then task state rebooting or
// rebooting_hard saved only if no one changed it meanwhile, then the cast
// of reboot_instance. A refusal is an *InstanceInvalidStateError; an
// instance gone meanwhile an *InstanceNotFoundError.
func (a *API) Reboot(ctx context.Context, c Caller, req RebootRequest) error {
	check, next := stateCheck{vm: states.AllowSoftReboot, task: states.AllowSoftRebootTasks, mustHaveLaunched: true}, states.TaskRebooting
	switch req.Type {
	case virt.RebootSoft:
	case virt.RebootHard:
		check, next = stateCheck{vm: states.AllowHardReboot, task: states.AllowReboot, mustHaveLaunched: true}, states.TaskRebootingHard
	default:
		return fmt.Errorf("computeapi: reboot type %q is neither SOFT nor HARD", req.Type)
	}
	if err := checkLock(c, req.Instance); err != nil {
		return err
	}
	if err := check.check(actionReboot, req.Instance); err != nil {
		return err
	}
	in, err := a.startTask(ctx, actionReboot, req.Instance, next)
	if err != nil {
		return err
	}
	if err := a.recordAction(ctx, c, in, ActionReboot); err != nil {
		a.undoTask(ctx, in, next, req.Instance.TaskState)
		return err
	}
	cctx, cancel := a.detached(ctx)
	defer cancel()
	if err := a.rpc.RebootInstance(rpcContext(cctx, c), in, req.Type); err != nil {
		a.undoTask(cctx, in, next, req.Instance.TaskState)
		return fmt.Errorf("casting reboot_instance to %s: %w", in.Host, err)
	}
	a.logger(c).InfoContext(ctx, "server reboot cast to its compute", "instance_uuid", in.UUID, "host", in.Host, "type", string(req.Type))
	return nil
}

// ConsoleOutputRequest asks for Instance's console log: the last Length
// lines, or all of it when Length is nil.
type ConsoleOutputRequest struct {
	Instance computedb.Instance
	Length   *int
}

// GetConsoleOutput calls get_console_output on the instance's host, bounded
// by the RPC timeout and ctx. As in nova, an instance with no host is an
// *InstanceNotReadyError, a guest without a console a
// *ConsoleNotAvailableError, a driver without consoles a *NotSupportedError;
// anything else (a timeout included) is unexpected. The output is the
// compute's, unfiltered.
func (a *API) GetConsoleOutput(ctx context.Context, _ Caller, req ConsoleOutputRequest) (string, error) {
	in := req.Instance
	if in.Host == "" {
		return "", &InstanceNotReadyError{UUID: in.UUID}
	}
	cctx, cancel := context.WithTimeout(ctx, a.rpcTimeout)
	defer cancel()
	out, err := a.rpc.GetConsoleOutput(cctx, in, req.Length)
	switch {
	case errors.Is(err, ErrConsoleNotAvailable):
		return "", &ConsoleNotAvailableError{UUID: in.UUID, Err: err}
	case errors.Is(err, ErrInstanceNotReady):
		return "", &InstanceNotReadyError{UUID: in.UUID, Err: err}
	case errors.Is(err, ErrNotSupported):
		return "", &NotSupportedError{Action: actionGetConsoleOutput, Err: err}
	case err != nil:
		return "", fmt.Errorf("get_console_output on %s: %w", in.Host, err)
	}
	return out, nil
}

// HostStatus is nova's host_status of an instance's host (fields.HostStatus).
type HostStatus string

// nova's host statuses.
const (
	HostUp          HostStatus = "UP"          // the compute is up and enabled
	HostDown        HostStatus = "DOWN"        // the compute is forced down
	HostMaintenance HostStatus = "MAINTENANCE" // the compute is up but disabled
	HostUnknown     HostStatus = "UNKNOWN"     // the compute has not reported in time, or is gone
	HostNone        HostStatus = ""            // the instance has no host
)

// HostStatuses maps compute hosts to their HostStatus.
type HostStatuses map[string]HostStatus

// Of is the host status of inst: HostNone without a host, HostUnknown for a
// host with no compute service.
func (s HostStatuses) Of(inst computedb.Instance) HostStatus {
	if inst.Host == "" {
		return HostNone
	}
	if st, ok := s[inst.Host]; ok {
		return st
	}
	return HostUnknown
}

// HostStatuses returns the status of every compute host, as nova's
// get_instances_host_statuses judges them: forced down is DOWN, not
// reporting in time UNKNOWN, disabled MAINTENANCE, otherwise UP.
func (a *API) HostStatuses(ctx context.Context) (HostStatuses, error) {
	svcs, now, err := a.services.List(ctx, registry.Filter{Binary: registry.BinaryCompute})
	if err != nil {
		return nil, err
	}
	out := make(HostStatuses, len(svcs))
	for _, s := range svcs {
		switch {
		case s.ForcedDown:
			out[s.Host] = HostDown
		case !servicegroup.IsUp(s, now, a.downTime):
			out[s.Host] = HostUnknown
		case s.Disabled:
			out[s.Host] = HostMaintenance
		default:
			out[s.Host] = HostUp
		}
	}
	return out, nil
}
