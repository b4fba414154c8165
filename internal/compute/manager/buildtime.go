package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// BuildTimeoutFault is the fault of an instance _check_instance_build_time
// set to error: nova's log line, as gonova records it for the user.
const BuildTimeoutFault = "Instance build timed out. Set to error state."

// Outcomes of gonova_compute_build_timeouts_total.
const (
	sweepError   = "error"   // set to vm_state error with a fault
	sweepChanged = "changed" // the instance moved on (or was deleted) before the update: left alone
)

// buildTimeCheckSpacing is how often _check_instance_build_time runs:
// nova's periodic default (60 s), or half the timeout when that is
// shorter, so an instance is failed at most 1.5 timeouts after creation.
func buildTimeCheckSpacing(timeout time.Duration) time.Duration {
	return max(min(periodic.DefaultSpacing, timeout/2), time.Second)
}

// CheckInstanceBuildTime is nova's _check_instance_build_time periodic
// task: an instance of this host still in vm_state building
// InstanceBuildTimeout after it was created is set to vm_state error with
// no task and the fault BuildTimeoutFault. (nova logs it only; a fault tells
// the user why.) Each update is a compare-and-set on the task state read, so
// a build step that moves the instance meanwhile wins, and two sweepers
// never both fail one instance. It does nothing when the timeout is 0.
func (m *ComputeManager) CheckInstanceBuildTime(ctx context.Context) error {
	if m.buildTimeout <= 0 {
		return nil
	}
	insts, err := m.store.ListInstances(ctx, computedb.InstanceFilter{Host: m.host, VMState: states.VMBuilding})
	if err != nil {
		return fmt.Errorf("_check_instance_build_time: listing the instances of host %s: %w", m.host, err)
	}
	now := m.clock.Now()
	var errs []error
	for _, in := range insts {
		if in.VMState != states.VMBuilding || now.Sub(in.CreatedAt) < m.buildTimeout {
			continue
		}
		_, err := m.store.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{
			VMState: ptr(states.VMError), TaskState: ptr(states.TaskNone),
			Fault:           &computedb.Fault{Code: http.StatusInternalServerError, Message: BuildTimeoutFault},
			ExpectTaskState: ptr(in.TaskState),
		})
		switch {
		case errors.Is(err, computedb.ErrConflict) || errors.Is(err, computedb.ErrNotFound):
			m.met.buildTimeouts.WithLabelValues(sweepChanged).Inc()
		case err != nil:
			errs = append(errs, fmt.Errorf("instance %s: %w", in.UUID, err))
		default:
			m.met.buildTimeouts.WithLabelValues(sweepError).Inc()
			m.log.Warn("Instance build timed out. Set to error state.", "instance_uuid", in.UUID,
				"task_state", in.TaskState, "created_at", in.CreatedAt, "instance_build_timeout", m.buildTimeout)
		}
	}
	return errors.Join(errs...)
}
