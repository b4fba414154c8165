package computeapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// console is a compute endpoint that answers get_console_output from a map
// and records the casts it receives.
type console struct {
	logs  map[string]string
	casts chan string
}

func (c *console) GetConsoleOutput(_ context.Context, a rpcapi.GetConsoleOutputArgs) (string, error) {
	out, ok := c.logs[a.Instance.UUID]
	switch {
	case !ok:
		return "", &rpcapi.InstanceNotFoundError{UUID: a.Instance.UUID}
	case out == "":
		return "", &rpcapi.InstanceInvalidStateError{UUID: a.Instance.UUID, Attr: "vm_state", State: "building", Method: "get_console_output"}
	case a.TailLength != nil:
		lines := strings.Split(out, "\n")
		return strings.Join(lines[len(lines)-*a.TailLength:], "\n"), nil
	}
	return out, nil
}

func (c *console) BuildAndRunInstance(_ context.Context, a rpcapi.BuildAndRunInstanceArgs) error {
	c.casts <- "build " + a.Instance.UUID + " node=" + a.Node + " flavor=" + a.Instance.FlavorID
	return nil
}

func (c *console) TerminateInstance(_ context.Context, a rpcapi.TerminateInstanceArgs) error {
	c.casts <- "terminate " + a.Instance.UUID
	return nil
}

func (c *console) RebootInstance(_ context.Context, a rpcapi.RebootInstanceArgs) error {
	c.casts <- "reboot " + a.Instance.UUID + " " + a.RebootType
	return nil
}

const (
	running  = "11111111-1111-4111-8111-111111111111"
	building = "22222222-2222-4222-8222-222222222222"
	missing  = "33333333-3333-4333-8333-333333333333"
)

func TestComputeRPCOverTheRPCClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: "memory://" + testenv.UniqueName("computeapi_rpc_"), ResponseTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ep := &console{logs: map[string]string{running: "a\nb\nc", building: ""}, casts: make(chan string, 4)}
	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{Target: rpcsvc.Target{Topic: rpcapi.Topic, Server: "h1"},
		Endpoints: []rpcsvc.Endpoint{{Version: rpcapi.Version, Impl: ep}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(ctx); err != nil {
			t.Error(err)
		}
		if err := tr.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	cl, err := rpcapi.New(tr, rpcapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var a = NewComputeRPC(cl)
	inst := func(id string) computedb.Instance {
		return computedb.Instance{UUID: id, Host: "h1", Node: "n1", FlavorID: "42"}
	}

	if out, err := a.GetConsoleOutput(ctx, inst(running), nil); err != nil || out != "a\nb\nc" {
		t.Fatalf("whole console = %q, %v", out, err)
	}
	two := 2
	if out, err := a.GetConsoleOutput(ctx, inst(running), &two); err != nil || out != "b\nc" {
		t.Fatalf("tail 2 = %q, %v", out, err)
	}
	if _, err := a.GetConsoleOutput(ctx, inst(missing), nil); !errors.Is(err, ErrConsoleNotAvailable) || !errors.Is(err, rpcapi.ErrInstanceNotFound) {
		t.Fatalf("missing guest = %v, want ErrConsoleNotAvailable", err)
	}
	if _, err := a.GetConsoleOutput(ctx, inst(building), nil); !errors.Is(err, ErrInstanceNotReady) {
		t.Fatalf("guest in a bad state = %v, want ErrInstanceNotReady", err)
	}
	neg := -1
	if _, err := a.GetConsoleOutput(ctx, inst(running), &neg); err == nil {
		t.Fatal("negative tail length accepted")
	}

	for _, send := range []func() error{
		func() error { return a.BuildAndRunInstance(ctx, inst(running)) },
		func() error { return a.RebootInstance(ctx, inst(running), virt.RebootSoft) },
		func() error { return a.TerminateInstance(ctx, inst(running)) },
	} {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	// Casts are handled concurrently: compare them as a set.
	want := map[string]bool{"build " + running + " node=n1 flavor=42": true, "reboot " + running + " SOFT": true, "terminate " + running: true}
	for range 3 {
		select {
		case got := <-ep.casts:
			if !want[got] {
				t.Fatalf("unexpected or repeated cast %q (still expected %v)", got, want)
			}
			delete(want, got)
		case <-ctx.Done():
			t.Fatalf("casts never arrived: %v", want)
		}
	}
	if err := a.TerminateInstance(ctx, computedb.Instance{UUID: running}); err == nil {
		t.Fatal("an instance without a host was sent somewhere")
	}
}
