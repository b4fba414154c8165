package computeapi

import (
	"context"

	"github.com/gonova/gonova/internal/computedb"
)

// InstanceGroupNotFoundError is nova's InstanceGroupNotFound: the group of
// a create's scheduler hint does not exist (a 400 there).
type InstanceGroupNotFoundError struct{ UUID string }

func (e *InstanceGroupNotFoundError) Error() string {
	return "Instance group " + e.UUID + " could not be found."
}

// GroupScheduler is a Scheduler that honours server groups (the
// *scheduler.Scheduler does): members of a group are placed by its policy.
type GroupScheduler interface {
	ScheduleInGroup(ctx context.Context, inst computedb.Instance, g computedb.ServerGroup) (computedb.Instance, error)
}

// schedule places inst, in group g when it has one and the scheduler
// knows groups.
func (a *API) scheduleInGroup(ctx context.Context, inst computedb.Instance, g *computedb.ServerGroup) (computedb.Instance, error) {
	if gs, ok := a.sched.(GroupScheduler); ok && g != nil {
		return gs.ScheduleInGroup(ctx, inst, *g)
	}
	return a.sched.Schedule(ctx, inst)
}
