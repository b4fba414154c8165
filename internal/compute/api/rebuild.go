package computeapi

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// RebuildRequest rebuilds Instance from ImageRef. Name, Description and
// Metadata, when not nil, replace the instance's; AdminPass nil keeps none.
type RebuildRequest struct {
	Instance    computedb.Instance
	ImageRef    string
	AdminPass   *string
	Name        *string
	Description *string
	Hostname    *string
	Metadata    *map[string]string
	// KeyName (2.54) replaces the server's key pair ("" removes it); nil
	// keeps it.
	KeyName *string
}

// rebuildCheck is nova's rebuild decorators: check_instance_lock and
// check_instance_state(vm_state=[active, stopped, error]).
var rebuildCheck = stateCheck{vm: []states.VMState{states.VMActive, states.VMStopped, states.VMError},
	task: []states.TaskState{states.TaskNone}, mustHaveLaunched: true}

// Rebuild is nova's rebuild on the instance's own host: the lock and state
// checks; task rebuilding with the new image, name, description and
// metadata in one compare-and-set from no task (nova's instance.update and
// save(expected_task_state=[None])); the rebuild action recorded; and
// rebuild_instance cast to the instance's host (nova goes through the
// conductor; gonova has none). It returns the instance as saved.
func (a *API) Rebuild(ctx context.Context, c Caller, req RebuildRequest) (computedb.Instance, error) {
	in := req.Instance
	if err := checkLock(c, in); err != nil {
		return computedb.Instance{}, err
	}
	if err := rebuildCheck.check(ActionRebuild, in); err != nil {
		return computedb.Instance{}, err
	}
	if in.Host == "" {
		return computedb.Instance{}, &InstanceNotReadyError{UUID: in.UUID}
	}
	if err := a.checkComputeServes(ctx, in, ActionRebuild); err != nil {
		return computedb.Instance{}, err
	}
	task, none := states.TaskRebuilding, states.TaskNone
	img := req.ImageRef
	out, err := a.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{TaskState: &task, ExpectTaskState: &none,
		ImageRef: &img, DisplayName: req.Name, Description: req.Description, Hostname: req.Hostname, Metadata: req.Metadata, KeyName: req.KeyName})
	if err != nil {
		return computedb.Instance{}, a.taskConflict(ctx, ActionRebuild, in, err)
	}
	if err := a.recordAction(ctx, c, out, ActionRebuild); err != nil {
		a.undoTask(ctx, out, task, none)
		return computedb.Instance{}, err
	}
	cctx, cancel := a.detached(ctx)
	defer cancel()
	if err := a.rpc.RebuildInstance(rpcContext(cctx, c), out, in.ImageRef, req.AdminPass); err != nil {
		a.undoTask(cctx, out, task, none)
		return computedb.Instance{}, fmt.Errorf("casting rebuild_instance to %s: %w", out.Host, err)
	}
	a.logger(c).InfoContext(ctx, "server rebuild cast to its compute", "instance_uuid", out.UUID, "host", out.Host, "image_ref", img)
	return out, nil
}
