package servicegroup_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

// A service joins the group with its row; the heartbeat reports every
// ReportInterval until Stop, and IsUp judges the row by the store's clock.
func Example() {
	ctx := context.Background()
	store := memstore.New(clock.Real)
	row, _, err := registry.FindOrCreate(ctx, store,
		registry.NewService{Host: "host1", Binary: registry.BinaryCompute, Topic: "compute"},
		registry.CreateOptions{DisableNewServices: false}) // !enable_new_services
	if err != nil {
		fmt.Println(err)
		return
	}
	hb, err := servicegroup.Join(store, row, servicegroup.Options{
		ReportInterval: 10 * time.Second, // report_interval
		InitialDelay:   -1,               // report at once (nova waits 5 s)
		Registerer:     prometheus.NewRegistry(),
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hb.Stop()

	for { // wait for the first report
		if got, _ := store.Get(ctx, row.ID); got.ReportCount > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	rows, now, _ := store.List(ctx, registry.Filter{})
	downTime := servicegroup.EffectiveServiceDownTime(60*time.Second, 10*time.Second, nil)
	fmt.Println(rows[0].Host, "up:", servicegroup.IsUp(rows[0], now, downTime))
	// Output: host1 up: true
}
