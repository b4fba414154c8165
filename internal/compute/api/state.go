package computeapi

import (
	"context"
	"errors"
	"slices"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// stateCheck is nova's check_instance_state decorator: the vm states and
// task states an action may start from (nil allows any) and whether the
// instance must have been launched. Actions declare one and call check
// before they change anything.
type stateCheck struct {
	vm               []states.VMState
	task             []states.TaskState
	mustHaveLaunched bool
}

// check returns the *InstanceInvalidStateError nova raises when in may not
// undergo action, or nil.
func (sc stateCheck) check(action string, in computedb.Instance) error {
	switch {
	case sc.vm != nil && !slices.Contains(sc.vm, in.VMState):
		return invalidState(action, in.UUID, "vm_state", in.VMState)
	case sc.task != nil && !slices.Contains(sc.task, in.TaskState):
		return invalidState(action, in.UUID, "task_state", in.TaskState)
	case sc.mustHaveLaunched && in.LaunchedAt == nil:
		return invalidState(action, in.UUID, "launched_at", "")
	}
	return nil
}

// startTask records that action began on in: task state next, saved only
// while the row still has the task state in was read with (nova's
// instance.save(expected_task_state=...)). Losing that race is an
// *InstanceInvalidStateError naming the task state that won; a row gone
// meanwhile an *InstanceNotFoundError. It returns the updated row.
func (a *API) startTask(ctx context.Context, action string, in computedb.Instance, next states.TaskState) (computedb.Instance, error) {
	expect := in.TaskState
	out, err := a.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{TaskState: &next, ExpectTaskState: &expect})
	if err != nil {
		return computedb.Instance{}, a.taskConflict(ctx, action, in, err)
	}
	return out, nil
}

// taskConflict maps the error of a compare-and-set on in's task state: a
// lost race is an *InstanceInvalidStateError naming the task state that
// won, a row gone an *InstanceNotFoundError; other errors are returned.
func (a *API) taskConflict(ctx context.Context, action string, in computedb.Instance, err error) error {
	switch {
	case errors.Is(err, computedb.ErrConflict):
		cur, gerr := a.compute.GetInstance(ctx, in.UUID)
		if gerr != nil {
			return &InstanceNotFoundError{UUID: in.UUID}
		}
		return invalidState(action, in.UUID, "task_state", cur.TaskState)
	case errors.Is(err, computedb.ErrNotFound):
		return &InstanceNotFoundError{UUID: in.UUID}
	}
	return err
}
