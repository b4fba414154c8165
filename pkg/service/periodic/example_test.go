package periodic_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// A manager registers its tasks once, Setup binds them to a registry, and each
// pass runs what is due and says how long to idle.
func Example() {
	clk := clocktest.New(clocktest.Epoch)

	var tasks periodic.Tasks
	tasks.Add("_sync_power_states", func(context.Context) error {
		fmt.Println("syncing power states at", clk.Now().Format(time.TimeOnly))
		return nil
	}, periodic.Spacing(10*time.Minute), periodic.RunImmediately())
	tasks.Add("_poll_volume_usage", func(context.Context) error { return nil },
		periodic.Spacing(-1)) // disabled, as with a negative interval option

	opts := periodic.DefaultOptions()
	opts.Clock = clk
	opts.Jitter = periodic.NoDelay
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	runner, err := tasks.Setup(prometheus.NewRegistry(), opts)
	if err != nil {
		panic(err)
	}

	fmt.Println("idle", runner.RunDue(context.Background()))
	clk.Advance(10 * time.Minute)
	fmt.Println("idle", runner.RunDue(context.Background()))
	// Output:
	// syncing power states at 03:04:05
	// idle 1m0s
	// syncing power states at 03:14:05
	// idle 1m0s
}
