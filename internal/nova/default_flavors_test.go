package nova

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
)

// [gonova] default_flavors creates the m1.* set when nova-api starts;
// without it there are no flavors, as in nova.
func TestDefaultFlavorsOption(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			ctx := context.Background()
			n := Wrap(runtime(t, fmt.Sprintf("[DEFAULT]\nosapi_compute_listen = 127.0.0.1\nosapi_compute_listen_port = 0\ntransport_url = memory://nova-flavors-%v\n[api]\nauth_strategy = noauth2\n[gonova]\napi_metrics_listen =\ndefault_flavors = %v\n", on, on)))
			if err := n.OpenTransport(ctx); err != nil {
				t.Fatal(err)
			}
			client, err := n.ComputeClient()
			if err != nil {
				t.Fatal(err)
			}
			api, err := n.newAPIService(client, net.Listen)
			if err != nil {
				t.Fatal(err)
			}
			if err := api.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := api.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			fs, err := n.Compute.ListFlavors(ctx, computedb.FlavorFilter{Scope: computedb.FlavorScope{Admin: true}})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 5}[on]; len(fs) != want {
				t.Fatalf("%d flavors, want %d", len(fs), want)
			}
			if _, err := n.Compute.GetFlavor(ctx, "1", computedb.FlavorScope{}); on != (err == nil) || (!on && !errors.Is(err, computedb.ErrNotFound)) {
				t.Fatalf("flavor 1: %v", err)
			}
		})
	}
}
