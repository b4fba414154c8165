package computeapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// A boot whose host has no queue on the broker (no compute consuming, as
// after a broker restart before the compute re-declared its queue) goes to
// ERROR with a fault that says so, instead of staying in BUILD; a reboot to
// that host is a 503 for the HTTP API.
func TestCreateToAHostWithoutAQueueGoesToError(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: "memory://" + testenv.UniqueName("computeapi_unroutable_"),
			ResponseTimeout: 10 * time.Second, UnroutableTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close(ctx)
		cl, err := rpcapi.New(tr, rpcapi.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := e.api(NewComputeRPC(cl))
		e.addNode("c1", 8, 16384, 100)
		in, err := a.Create(ctx, alice, boot("vm", tiny))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := e.compute.GetInstance(ctx, in.UUID)
		if got.VMState != states.VMError || got.TaskState != states.TaskNone || got.Fault == nil ||
			!strings.Contains(got.Fault.Message, "compute host c1 has no queue on the message broker") {
			t.Fatalf("instance %+v fault %+v", got, got.Fault)
		}

		// An action on an instance of that host fails as a 503.
		err = NewComputeRPC(cl).RebootInstance(ctx, got, virt.RebootHard)
		if !errors.Is(err, rpcsvc.ErrUnroutable) || !fault.IsUnavailable(err) {
			t.Fatalf("reboot to a host without a queue: %v, want a 503 ErrUnroutable", err)
		}
	})
}

func TestBuildCastFaultNamesTheBrokerOutage(t *testing.T) {
	got := buildCastFault("c1", &rpcsvc.UnavailableError{Waited: time.Second, Err: errors.New("dial tcp: refused")})
	if got != "Build request not sent to compute host c1: the message broker is unavailable. Set to error state." {
		t.Fatalf("fault %q", got)
	}
}

// nova-api's sweep fails instances still scheduling after the timeout
// (lost build requests), with or without a host, and leaves alone the young
// ones and those a compute took; a second sweeper finds nothing to do.
func TestFailUnclaimedBuilds(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.api(&recorder{}) // casts "succeed" and go nowhere: lost
		e.addNode("c1", 64, 1<<20, 1000)
		lost, err := a.Create(ctx, alice, boot("lost", tiny))
		if err != nil {
			t.Fatal(err)
		}
		taken, err := a.Create(ctx, alice, boot("taken", tiny))
		if err != nil {
			t.Fatal(err)
		}
		spawning, sched := states.TaskSpawning, states.TaskScheduling
		if _, err := e.compute.UpdateInstance(ctx, taken.UUID, computedbUpdate(&spawning, &sched)); err != nil {
			t.Fatal(err)
		}
		const timeout = time.Minute
		res, err := a.FailUnclaimedBuilds(ctx, timeout, time.Now()) // too young
		if err != nil || res.Failed != 0 {
			t.Fatalf("young sweep: %+v %v", res, err)
		}
		later := time.Now().Add(2 * timeout)
		res, err = a.FailUnclaimedBuilds(ctx, timeout, later)
		if err != nil || res.Failed != 1 {
			t.Fatalf("sweep: %+v %v, want 1 failed", res, err)
		}
		got, _ := e.compute.GetInstance(ctx, lost.UUID)
		if got.VMState != states.VMError || got.TaskState != states.TaskNone || got.Fault == nil ||
			got.Fault.Message != BuildRequestTimeoutFault(timeout) || !strings.Contains(got.Fault.Message, "within 60 seconds") {
			t.Fatalf("lost build after the sweep: %+v fault %+v", got, got.Fault)
		}
		if got, _ := e.compute.GetInstance(ctx, taken.UUID); got.VMState != states.VMBuilding {
			t.Fatalf("a build a compute took was failed: %+v", got)
		}
		if res, err := a.FailUnclaimedBuilds(ctx, timeout, later); err != nil || res.Failed != 0 {
			t.Fatalf("second sweep: %+v %v", res, err)
		}
	})
}

func computedbUpdate(task, expect *states.TaskState) computedb.InstanceUpdate {
	return computedb.InstanceUpdate{TaskState: task, ExpectTaskState: expect}
}
