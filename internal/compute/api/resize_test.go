package computeapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/pkg/registry"
)

// A gonova compute below service version 4 serves no resize method: the
// resize is refused before anything changes (as the server actions on a
// version 2 compute), and the destinations the scheduler may take are
// only computes of version 4 on.
func TestResizeRefusedOnAnOldCompute(t *testing.T) {
	onBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &recorder{}
		a := e.api(rec, func(o *Options) { o.AllowResizeToSameHost = true })
		svc := e.addNode("c1", 64, 1<<20, 10000)
		in, _ := a.Create(ctx, alice, boot("vm", tiny))
		in = e.launch(t, in.UUID)
		small := &Flavor{ID: "2", Name: "m1.small", VCPUs: 1, MemoryMB: 2048, RootGB: 20}
		three := 3
		if _, err := e.services.Update(ctx, svc.ID, registry.Update{Version: &three}); err != nil {
			t.Fatal(err)
		}
		err := a.Resize(ctx, alice, ResizeRequest{Instance: in, FlavorRef: "2", Flavor: small})
		if !errors.Is(err, ErrComputeTooOld) || !strings.Contains(err.Error(), "service version 3") || !strings.Contains(err.Error(), "version 4 or newer") {
			t.Fatalf("resize on a version 3 compute: %v", err)
		}
		if got, _ := e.compute.GetInstance(ctx, in.UUID); got.TaskState != states.TaskNone || got.Resize != nil {
			t.Fatalf("after the refusal: %+v", got)
		}
		four := 4
		if _, err := e.services.Update(ctx, svc.ID, registry.Update{Version: &four}); err != nil {
			t.Fatal(err)
		}
		if err := a.Resize(ctx, alice, ResizeRequest{Instance: in, FlavorRef: "2", Flavor: small}); err != nil {
			t.Fatalf("resize on a version 4 compute: %v", err)
		}
		calls := rec.Calls()
		if c := calls[len(calls)-1]; c.Method != rpcapi.MethodPrepResize || c.Host != "c1" {
			t.Fatalf("cast %+v", c)
		}
	})
}
