package computeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// BuildRequestTimeoutFault is the fault of an instance FailUnclaimedBuilds
// set to error after timeout.
func BuildRequestTimeoutFault(timeout time.Duration) string {
	return fmt.Sprintf("Build request timed out: no compute host took it within %d seconds of its creation "+
		"(the request was lost or its compute is down). Set to error state.", int64(timeout/time.Second))
}

// SweepResult counts what one FailUnclaimedBuilds pass did.
type SweepResult struct {
	// Failed instances were set to vm_state error with a fault.
	Failed int
	// Changed instances moved on (a compute claimed the build, or they
	// were deleted) between the read and the update: left alone.
	Changed int
}

// FailUnclaimedBuilds fails the instances this API accepted that no
// compute took up: still in vm_state building and task_state scheduling
// (with or without a host) timeout after they were created, because the
// build request was lost (a broker restart with non-durable queues drops
// what was queued) or the compute is down. Each goes to vm_state error with
// no task and BuildRequestTimeoutFault.
//
// It is safe to run in many processes at once: each update is a
// compare-and-set on task_state scheduling, the same one a compute's build
// claims the instance with, so an instance is either built or failed, once.
// nova has no such sweep (nova-api runs no periodic tasks); gonova runs it
// in nova-api, which accepted the instances (internal/nova).
func (a *API) FailUnclaimedBuilds(ctx context.Context, timeout time.Duration, now time.Time) (SweepResult, error) {
	var res SweepResult
	insts, err := a.compute.ListInstances(ctx, computedb.InstanceFilter{VMState: states.VMBuilding, TaskState: states.TaskScheduling})
	if err != nil {
		return res, fmt.Errorf("listing instances: %w", err)
	}
	sched, none, vmErr := states.TaskScheduling, states.TaskNone, states.VMError
	msg := BuildRequestTimeoutFault(timeout)
	var errs []error
	for _, in := range insts {
		if in.VMState != states.VMBuilding || in.TaskState != states.TaskScheduling || now.Sub(in.CreatedAt) < timeout {
			continue
		}
		_, err := a.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{
			VMState: &vmErr, TaskState: &none, ExpectTaskState: &sched,
			Fault: &computedb.Fault{Code: http.StatusInternalServerError, Message: msg},
		})
		switch {
		case errors.Is(err, computedb.ErrConflict) || errors.Is(err, computedb.ErrNotFound):
			res.Changed++
		case err != nil:
			errs = append(errs, fmt.Errorf("instance %s: %w", in.UUID, err))
		default:
			res.Failed++
			a.log.WarnContext(ctx, "no compute took the build request in time; setting instance to ERROR state",
				"instance_uuid", in.UUID, "host", in.Host, "created_at", in.CreatedAt, "build_request_timeout", timeout)
		}
	}
	return res, errors.Join(errs...)
}
