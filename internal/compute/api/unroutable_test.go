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
