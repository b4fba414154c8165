package launcher_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gonova/gonova/pkg/launcher"
)

// A main runs its services under the launcher New picks: a ServiceLauncher
// in this process, or with Workers > 1 a ProcessLauncher whose workers are
// this same program. Run blocks until SIGTERM or SIGINT (here: until ctx
// ends), then stops the services in reverse order.
func Example() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	// Bind before Run: in a worker, Listen returns the socket the parent
	// bound under this name instead.
	l, err := launcher.Listen("example_api", "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	api := launcher.Func("example_api", func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		if err := srv.Serve(l); err != http.ErrServerClosed {
			return err
		}
		return nil
	})
	janitor := launcher.Func("janitor", func(ctx context.Context) error {
		fmt.Println("janitor running")
		stop() // stands in for SIGTERM
		<-ctx.Done()
		fmt.Println("janitor stopped")
		return nil
	})

	opts := launcher.Options{
		Workers:                 1,
		GracefulShutdownTimeout: 10 * time.Second,
		Logger:                  quiet,
		Signals:                 make(chan os.Signal), // a real main leaves it nil
	}
	err = launcher.New(opts, api, janitor).Run(ctx)
	fmt.Println("exit code", launcher.ExitCode(err))
	// Output:
	// janitor running
	// janitor stopped
	// exit code 0
}

// Func turns a blocking function into a Service; Stop cancels its context.
func ExampleFunc() {
	sweep := func(context.Context) {}
	svc := launcher.Func("janitor", func(ctx context.Context) error {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				sweep(ctx)
			}
		}
	})
	if err := svc.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(svc.Name(), svc.Stop(context.Background()), svc.Wait(context.Background()))
	// Output: janitor <nil> <nil>
}

// Listen binds a named socket once; in a ProcessLauncher worker it returns
// the socket the parent bound, so workers share the port.
func ExampleListen() {
	l, err := launcher.Listen("example_listen", "tcp", net.JoinHostPort("127.0.0.1", "0"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	_, err = launcher.Listen("example_listen", "tcp", "127.0.0.1:0")
	fmt.Println(err != nil) // each name is taken once
	// Output: true
}
