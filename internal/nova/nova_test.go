package nova

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func parse(t *testing.T, body string) *config.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "nova.conf")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.ParseWith([]string{"--config-file", f}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runtime(t *testing.T, body string) *app.App {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devnull.Close() })
	o := Options("test")
	o.Output = devnull
	a, err := app.NewFromConfig(context.Background(), parse(t, body), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func TestComputeStoreFollowsTheRuntimesStore(t *testing.T) {
	n := Wrap(runtime(t, "[DEFAULT]\nhost = h1\n"))
	if _, ok := n.Compute.(*computedb.Mem); !ok {
		t.Fatalf("Compute is %T on the embedded default, want the in-memory store", n.Compute)
	}
	if n.Version() != ServiceVersion {
		t.Fatalf("Version = %d, want nova's %d", n.Version(), ServiceVersion)
	}
	pg := Wrap(runtime(t, "[database]\nconnection = "+pgtest.NewDatabase(t)+"\n"))
	if _, ok := pg.Compute.(*computedb.PG); !ok {
		t.Fatalf("Compute is %T on Postgres, want computedb.PG", pg.Compute)
	}
}

func TestKeystoneIsRefusedAsABadConfiguration(t *testing.T) {
	n := Wrap(runtime(t, "[api]\nauth_strategy = keystone\n"))
	_, err := n.NewAPIService(nil)
	if err == nil || app.ExitCode(err) != app.ExitConfig {
		t.Fatalf("auth_strategy = keystone: %v (exit code %d), want a configuration error", err, app.ExitCode(err))
	}
}
