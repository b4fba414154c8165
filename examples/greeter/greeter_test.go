package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The example as a user runs it: configuration, the Service, a call over the
// transport, its row and heartbeats, and a clean stop.
func TestGreeterServesCallsAndHeartbeats(t *testing.T) {
	ctx := context.Background()
	conf := filepath.Join(t.TempDir(), "greeter.conf")
	if err := os.WriteFile(conf, []byte("[DEFAULT]\nhost = greeter-1\nreport_interval = 1\nperiodic_fuzzy_delay = 0\ntransport_url = memory://greeter-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.ParseWith([]string{"--config-file", conf}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	a, err := app.NewFromConfig(ctx, cfg, app.Options{Product: "greeter", Output: devnull})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.OpenTransport(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := newService(a, newManager(a))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}

	cl, err := rpcsvc.NewClient(a.Transport, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: "greeter", Version: "1.0"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out GreetResult
	if err := cl.Prepare(rpcsvc.CallOptions{Server: "greeter-1"}).Call(ctx, "greet", GreetArgs{Name: "operator"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Greeting != "Hello, operator!" || out.Count != 1 {
		t.Fatalf("greet = %+v", out)
	}
	var rerr *rpcsvc.RemoteError
	if err := cl.Call(ctx, "greet", GreetArgs{}, &out); !errors.As(err, &rerr) || rerr.Message != ErrNoName.Error() {
		t.Fatalf("greet without a name: %v", err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, _, err := a.Services.List(ctx, registry.Filter{Binary: "greeter"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0].Topic == "greeter" && rows[0].ReportCount >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat recorded: %+v", rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
