package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// greeterManager is a Manager: BaseManager gives every hook a no-op, and
// it implements the ones it needs.
type greeterManager struct {
	service.BaseManager
}

func (m *greeterManager) PreStartHook(ctx context.Context, row registry.Service) error {
	fmt.Printf("pre-start: row %s/%s exists\n", row.Host, row.Binary)
	return nil
}

func (m *greeterManager) PostStartHook(ctx context.Context) error {
	fmt.Println("post-start")
	return nil
}

func (m *greeterManager) Shutdown(ctx context.Context) error {
	fmt.Println("manager shutdown")
	return nil
}

func (m *greeterManager) PeriodicTasks(ts *periodic.Tasks) {
	ts.Add("say_hello", func(context.Context) error { return nil }, periodic.Spacing(time.Minute))
}

// A Service runs a Manager the way nova runs one: Create it with the
// manager and the registry (and a transport to serve RPC), then give it to
// a launcher, which starts it, waits for SIGTERM and stops it.
func Example() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	store := memstore.New(clock.Real)

	svc, err := service.Create(service.Options{
		Host:     "host1",
		Binary:   "nova-greeter",
		Manager:  &greeterManager{},
		Registry: store,
		Periodic: periodic.DefaultOptions(), // periodic_enable, periodic_fuzzy_delay, ...
		Logger:   quiet,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Services start in order: once this one runs, svc has started.
	sigterm := launcher.Func("sigterm", func(ctx context.Context) error {
		stop() // stands in for SIGTERM
		<-ctx.Done()
		return nil
	})
	l := launcher.NewServiceLauncher(launcher.Options{Logger: quiet, Signals: make(chan os.Signal)}, svc, sigterm)
	fmt.Println("run:", l.Run(ctx))
	fmt.Println("topic:", svc.Topic())
	// Output:
	// pre-start: row host1/nova-greeter exists
	// post-start
	// manager shutdown
	// run: <nil>
	// topic: greeter
}
