package computeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/scheduler"
	"github.com/gonova/gonova/pkg/registry"
)

// Instance action names of a resize (nova's instance_actions RESIZE,
// CONFIRM_RESIZE, REVERT_RESIZE); they are also the names nova's handlers
// give InstanceInvalidState ("Cannot 'confirmResize' instance ...").
const (
	ActionResize        = "resize"
	ActionConfirmResize = "confirmResize"
	ActionRevertResize  = "revertResize"
)

// ResizeRPC is the part of the compute RPC API a resize uses. A ComputeRPC
// that is not one cannot resize (ErrNotSupported); NewComputeRPC's is.
type ResizeRPC interface {
	// PrepResize casts prep_resize to the destination mig.DestCompute.
	PrepResize(ctx context.Context, inst computedb.Instance, flavor Flavor, mig rpcapi.Migration) error
	// MigrationCast casts confirm_resize (to mig.SourceCompute) or
	// revert_resize (to mig.DestCompute).
	MigrationCast(ctx context.Context, method string, inst computedb.Instance, mig rpcapi.Migration) error
}

func (c rpcClient) PrepResize(ctx context.Context, inst computedb.Instance, f Flavor, mig rpcapi.Migration) error {
	return c.cl.PrepResize(ctx, mig.DestCompute, rpcapi.PrepResizeArgs{Instance: rpcapi.InstanceFrom(inst),
		Flavor: rpcapi.Flavor{FlavorID: f.ID, Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB},
		Node:   mig.DestNode, Migration: mig, CleanShutdown: true})
}

func (c rpcClient) MigrationCast(ctx context.Context, method string, inst computedb.Instance, mig rpcapi.Migration) error {
	host := mig.SourceCompute
	if method == rpcapi.MethodRevertResize {
		host = mig.DestCompute
	}
	return c.cl.MigrationCast(ctx, method, host, rpcapi.MigrationArgs{Instance: rpcapi.InstanceFrom(inst), Migration: mig})
}

// CannotResizeToSameFlavorError is nova's CannotResizeToSameFlavor (400).
type CannotResizeToSameFlavorError struct{}

func (*CannotResizeToSameFlavorError) Error() string {
	return "When resizing, instances must change flavor!"
}

// CannotResizeDiskError is nova's CannotResizeDisk (400).
type CannotResizeDiskError struct{ Reason string }

func (e *CannotResizeDiskError) Error() string {
	return "Server disk was unable to be resized because: " + e.Reason
}

// MigrationNotFoundError is nova's MigrationNotFound for an instance: no
// finished resize to confirm or revert ("Instance has not been resized.",
// 400).
type MigrationNotFoundError struct{ UUID string }

func (e *MigrationNotFoundError) Error() string {
	return fmt.Sprintf("Migration not found for instance %s with status finished.", e.UUID)
}

// ServiceUnavailableError is nova's ServiceUnavailable: the compute the
// action needs is down (409).
type ServiceUnavailableError struct{}

func (*ServiceUnavailableError) Error() string { return "Service is unavailable at this time." }

// ResizeRequest resizes Instance to the flavor FlavorRef names. Flavor is
// that flavor as the handler found it, nil when there is none (or it is
// disabled): nova looks it up after the state checks, so the request's
// 409s come before its 400.
type ResizeRequest struct {
	Instance  computedb.Instance
	FlavorRef string
	Flavor    *Flavor
}

// FlavorNotFoundError is nova's FlavorNotFound (400 on resize).
type FlavorNotFoundError struct{ FlavorID string }

func (e *FlavorNotFoundError) Error() string {
	return fmt.Sprintf("Flavor %s could not be found.", e.FlavorID)
}

var (
	// resizeCheck is nova's resize decorators: check_instance_lock,
	// check_instance_state(vm_state=[active, stopped]) (task none, launched)
	// and check_instance_host(check_is_up=True).
	resizeCheck = stateCheck{vm: []states.VMState{states.VMActive, states.VMStopped}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}
	// resizedCheck is confirm_resize's and revert_resize's:
	// check_instance_state(vm_state=[resized]).
	resizedCheck = stateCheck{vm: []states.VMState{states.VMResized}, task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}
)

// Resize is nova's resize to another flavor, with the scheduling nova's
// conductor does done here: the checks (lock, state, host up, a different
// flavor, no resize to a zero disk); task resize_prep (compare-and-set from
// none) and the resize action recorded; a destination chosen (any other
// up host that fits the new flavor; this host too with
// allow_resize_to_same_host) and the new flavor's amounts claimed there
// beside the instance's own claim (computedb.ClaimResize); prep_resize cast
// to it. As in nova, no host fitting is not an error of the request: the
// instance goes back to no task with the NoValidHost fault, and the call
// returns nil (202).
func (a *API) Resize(ctx context.Context, c Caller, req ResizeRequest) error {
	in := req.Instance
	if err := checkLock(c, in); err != nil {
		return err
	}
	if err := resizeCheck.check(ActionResize, in); err != nil {
		return err
	}
	if in.Host == "" {
		return &InstanceNotReadyError{UUID: in.UUID}
	}
	if up, err := a.computeUp(ctx, in.Host); err != nil {
		return err
	} else if !up {
		return &ServiceUnavailableError{}
	}
	if req.Flavor == nil {
		return &FlavorNotFoundError{FlavorID: req.FlavorRef}
	}
	f := *req.Flavor
	if f.ID == in.FlavorID {
		return &CannotResizeToSameFlavorError{}
	}
	if f.RootGB == 0 && in.RootGB != 0 {
		return &CannotResizeDiskError{Reason: "Resize to zero disk flavor is not allowed."}
	}
	// nova's _check_quota_for_upsize, before the task state: the cores and
	// ram deltas (f − the instance's flavor, when positive). nova counts
	// usage from the instances' flavors, and so does gonova; the check is
	// not atomic with the resize (nova's is not either).
	if err := a.quotas.CheckResize(ctx, in, f.VCPUs, f.MemoryMB); err != nil {
		return err
	}
	rrpc, ok := a.rpc.(ResizeRPC)
	if !ok {
		return &NotSupportedError{Action: ActionResize}
	}
	if err := a.checkComputeVersion(ctx, in.Host, ActionResize, versions.Resize); err != nil {
		return err
	}
	out, err := a.startTask(ctx, ActionResize, in, states.TaskResizePrep)
	if err != nil {
		return err
	}
	prep := states.TaskResizePrep
	if err := a.recordAction(ctx, c, out, ActionResize); err != nil {
		a.undoTask(ctx, out, prep, states.TaskNone)
		return err
	}
	cctx, cancel := a.detached(ctx)
	defer cancel()
	log := a.logger(c).With("instance_uuid", out.UUID)
	claimed, dest, err := a.scheduleResize(cctx, out, f)
	if errors.Is(err, scheduler.ErrNoValidHost) {
		// nova's conductor: the instance back to its vm_state with no
		// task, the reason as its fault.
		none := states.TaskNone
		if _, uerr := a.compute.UpdateInstance(cctx, out.UUID, computedb.InstanceUpdate{TaskState: &none, ExpectTaskState: &prep,
			Fault: &computedb.Fault{Code: http.StatusInternalServerError, Message: err.Error()}}); uerr != nil && !errors.Is(uerr, computedb.ErrConflict) && !errors.Is(uerr, computedb.ErrNotFound) {
			return uerr
		}
		log.WarnContext(ctx, "no host for the resize; the server stays as it was", "flavor", f.ID, "reason", err.Error())
		return nil
	}
	if err != nil {
		a.undoTask(cctx, out, prep, states.TaskNone)
		return err
	}
	mig := rpcapi.Migration{SourceCompute: out.Host, SourceNode: out.Node, DestCompute: dest.Host, DestNode: dest.HypervisorHostname,
		Status: "pre-migrating", MigrationType: "resize"}
	if err := rrpc.PrepResize(rpcContext(cctx, c), claimed, f, mig); err != nil {
		if _, _, rerr := a.compute.ConfirmResize(cctx, out.UUID); rerr != nil {
			log.ErrorContext(ctx, "could not release the resize claim after a failed cast", "error", rerr)
		}
		a.undoTask(cctx, out, prep, states.TaskNone)
		return fmt.Errorf("casting prep_resize to %s: %w", dest.Host, err)
	}
	log.InfoContext(ctx, "server resize cast to its destination", "source", out.Host, "destination", dest.Host, "flavor", f.ID)
	return nil
}

// scheduleResize claims f's amounts on the best node that takes them: up,
// in the instance's zone, served by a compute that knows the resize
// methods, and not the instance's own host unless allow_resize_to_same_host
// (nova's ignore_hosts). It returns the instance as claimed and the node.
func (a *API) scheduleResize(ctx context.Context, in computedb.Instance, f Flavor) (computedb.Instance, computedb.Node, error) {
	probe := in
	probe.VCPUs, probe.MemoryMB, probe.RootGB = f.VCPUs, f.MemoryMB, f.RootGB
	cands, err := a.placer.Candidates(ctx, probe)
	if err != nil {
		return computedb.Instance{}, computedb.Node{}, err
	}
	prep := states.TaskResizePrep
	amounts := computedb.FlavorAmounts{ID: f.ID, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB}
	for _, cand := range cands {
		n := cand.Node
		if n.Host == in.Host && !a.sameHostResize {
			continue
		}
		if err := a.checkComputeVersion(ctx, n.Host, ActionResize, versions.Resize); err != nil {
			continue
		}
		out, err := a.compute.ClaimResize(ctx, computedb.ResizeClaimRequest{InstanceUUID: in.UUID, NodeID: n.ID, Flavor: amounts,
			Copy:            computedb.InstanceFlavor{Name: f.Name, EphemeralGB: f.EphemeralGB, Swap: f.Swap, RXTXFactor: f.RXTXFactor, ExtraSpecs: f.ExtraSpecs},
			ExpectTaskState: &prep})
		switch {
		case err == nil:
			return out, n, nil
		case errors.Is(err, computedb.ErrInsufficientResources), errors.Is(err, computedb.ErrNodeNotFound):
			continue
		case errors.Is(err, computedb.ErrNotFound):
			return computedb.Instance{}, computedb.Node{}, &InstanceNotFoundError{UUID: in.UUID}
		case errors.Is(err, computedb.ErrConflict):
			return computedb.Instance{}, computedb.Node{}, a.taskConflict(ctx, ActionResize, in, err)
		default:
			return computedb.Instance{}, computedb.Node{}, err
		}
	}
	return computedb.Instance{}, computedb.Node{}, &scheduler.NoValidHostError{Reason: "No valid host found for resize"}
}

// ConfirmResize is nova's confirm_resize: from vm_state resized, the
// source compute up; task resize_confirming (nova marks its migration
// confirming; gonova has no migrations table and guards the same race with
// the task state), the confirmResize action, confirm_resize cast to the
// source, which releases the old flavor's claim.
func (a *API) ConfirmResize(ctx context.Context, c Caller, in computedb.Instance) error {
	return a.endResize(ctx, c, in, ActionConfirmResize, states.TaskResizeConfirming, rpcapi.MethodConfirmResize)
}

// RevertResize is nova's revert_resize: from vm_state resized; task
// resize_reverting, the revertResize action, revert_resize cast to the
// destination (the instance's host), which hands over to the source.
func (a *API) RevertResize(ctx context.Context, c Caller, in computedb.Instance) error {
	// nova's revert checks the upsize of going back (the old flavor − the
	// new one, when positive).
	if in.Resize != nil && in.Resize.Finished {
		if err := a.quotas.CheckResize(ctx, in, in.Resize.OldFlavor.VCPUs, in.Resize.OldFlavor.MemoryMB); err != nil {
			return err
		}
	}
	return a.endResize(ctx, c, in, ActionRevertResize, states.TaskResizeReverting, rpcapi.MethodRevertResize)
}

func (a *API) endResize(ctx context.Context, c Caller, in computedb.Instance, action string, task states.TaskState, method string) error {
	if err := checkLock(c, in); err != nil {
		return err
	}
	if err := resizedCheck.check(action, in); err != nil {
		return err
	}
	if in.Resize == nil || !in.Resize.Finished {
		return &MigrationNotFoundError{UUID: in.UUID}
	}
	rrpc, ok := a.rpc.(ResizeRPC)
	if !ok {
		return &NotSupportedError{Action: action}
	}
	src, err := a.compute.GetNode(ctx, in.Resize.NodeID)
	if errors.Is(err, computedb.ErrNotFound) {
		return &MigrationNotFoundError{UUID: in.UUID}
	}
	if err != nil {
		return err
	}
	if method == rpcapi.MethodConfirmResize {
		if up, err := a.computeUp(ctx, src.Host); err != nil {
			return err
		} else if !up {
			return &ServiceUnavailableError{}
		}
	}
	target := in.Host
	if method == rpcapi.MethodConfirmResize {
		target = src.Host
	}
	if err := a.checkComputeVersion(ctx, target, action, versions.Resize); err != nil {
		return err
	}
	out, err := a.startTask(ctx, action, in, task)
	if err != nil {
		return err
	}
	if err := a.recordAction(ctx, c, out, action); err != nil {
		a.undoTask(ctx, out, task, states.TaskNone)
		return err
	}
	cctx, cancel := a.detached(ctx)
	defer cancel()
	mig := rpcapi.Migration{SourceCompute: src.Host, SourceNode: src.HypervisorHostname, DestCompute: out.Host, DestNode: out.Node,
		Status: "finished", MigrationType: "resize"}
	if err := rrpc.MigrationCast(rpcContext(cctx, c), method, out, mig); err != nil {
		a.undoTask(cctx, out, task, states.TaskNone)
		return fmt.Errorf("casting %s: %w", method, err)
	}
	a.logger(c).InfoContext(ctx, "server "+action+" cast", "instance_uuid", out.UUID, "source", src.Host, "destination", out.Host)
	return nil
}

// checkComputeVersion is checkComputeServes for a feature of service
// version needed, on host.
func (a *API) checkComputeVersion(ctx context.Context, host, action string, needed int) error {
	svc, err := a.services.GetByHostBinary(ctx, host, registry.BinaryCompute)
	if errors.Is(err, registry.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Version > 0 && svc.Version < needed {
		return &ComputeTooOldError{Action: action, Host: host, Version: svc.Version, Needed: needed}
	}
	return nil
}

// cleanResizeSource is nova's _confirm_resize_on_deleting for a server
// deleted while VERIFY_RESIZE between two hosts: the source, which still
// has the guest, is sent confirm_resize so it removes it (the deletion
// releases both claims). Best effort: a failure is logged.
func (a *API) cleanResizeSource(ctx context.Context, c Caller, in computedb.Instance) {
	rrpc, ok := a.rpc.(ResizeRPC)
	if !ok || in.Resize == nil || !in.Resize.Finished {
		return
	}
	src, err := a.compute.GetNode(ctx, in.Resize.NodeID)
	if err != nil || src.Host == in.Host {
		return
	}
	mig := rpcapi.Migration{SourceCompute: src.Host, SourceNode: src.HypervisorHostname, DestCompute: in.Host, DestNode: in.Node,
		Status: "confirming", MigrationType: "resize"}
	if err := rrpc.MigrationCast(rpcContext(ctx, c), rpcapi.MethodConfirmResize, in, mig); err != nil {
		a.logger(c).WarnContext(ctx, "could not ask the resize source to remove its guest of a deleted server",
			"instance_uuid", in.UUID, "source", src.Host, "error", err)
	}
}
