package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/pgstore"
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

func quiet() *os.File {
	f, _ := os.Open(os.DevNull)
	return f
}

func TestEmbeddedDefaultUsesMemoryStores(t *testing.T) {
	a, err := NewFromConfig(context.Background(), parse(t, "[DEFAULT]\nhost = h1\n"), Options{Product: "test", Output: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, ok := a.Services.(*memstore.Store); !ok {
		t.Fatalf("Services is %T, want the in-memory store", a.Services)
	}
	if a.Pool() != nil {
		t.Fatal("the in-memory store has a Postgres pool")
	}
	if err := a.OpenTransport(context.Background()); err == nil || !strings.Contains(err.Error(), "transport_url") {
		t.Fatalf("OpenTransport without transport_url: %v", err)
	}
}

func TestPostgresStoresAndUnmigratedDatabaseIsRefused(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, err := NewFromConfig(context.Background(), parse(t, "[database]\nconnection = "+url+"\n"), Options{Product: "test", Output: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Services.(*pgstore.Store); !ok {
		t.Fatalf("Services is %T, want pgstore", a.Services)
	}
	a.Close()

	// Roll the schema back one step: start-up must ask for db sync.
	pool := pgtest.OpenPool(t, url)
	latest, _ := db.LatestVersion()
	if _, err := db.MigrateTo(context.Background(), pool, latest-1); err != nil {
		t.Skipf("cannot migrate down to test this: %v", err)
	}
	_, err = NewFromConfig(context.Background(), parse(t, "[database]\nconnection = "+url+"\n"), Options{Product: "test", Output: quiet()})
	if err == nil || !strings.Contains(err.Error(), "nova-manage db sync") {
		t.Fatalf("unmigrated database: %v", err)
	}
}

func TestHealthcheckFollowsReadiness(t *testing.T) {
	a, err := NewFromConfig(context.Background(), parse(t, ""), Options{Product: "test", Output: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := a.HealthHandler()
	get := func(path string) (int, string) {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rr.Body)
		return rr.Code, string(b)
	}
	if code, _ := get("/healthcheck"); code != http.StatusServiceUnavailable {
		t.Fatalf("before start: %d", code)
	}
	called := 0
	a.OnReady(func() { called++ })
	m := &readyMarker{ready: &a.ready, onReady: a.onReady}
	_ = m.Start(context.Background())
	if code, body := get("/healthcheck"); code != http.StatusOK || body != "OK" || called != 1 {
		t.Fatalf("after start: %d %q onReady=%d", code, body, called)
	}
	if code, _ := get("/metrics"); code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	_ = m.Stop(context.Background())
	if err := m.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/healthcheck"); code != http.StatusServiceUnavailable {
		t.Fatalf("after stop: %d", code)
	}
}

func TestReloadChangesDebugAndKeepsOldConfigOnError(t *testing.T) {
	f := filepath.Join(t.TempDir(), "nova.conf")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[DEFAULT]\ndebug = false\n")
	cfg, _, err := config.ParseWith([]string{"--config-file", f}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewFromConfig(context.Background(), cfg, Options{Product: "test", Output: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Logging.Level.Level() != slog.LevelInfo {
		t.Fatalf("level = %v", a.Logging.Level.Level())
	}
	write("[DEFAULT]\ndebug = true\n")
	if err := a.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.Logging.Level.Level() != slog.LevelDebug {
		t.Fatalf("after reload level = %v, want debug", a.Logging.Level.Level())
	}
	write("[DEFAULT]\nreport_interval = -1\n")
	if err := a.reload(context.Background()); err == nil || !strings.Contains(err.Error(), "keeping the old one") {
		t.Fatalf("bad reload: %v", err)
	}
	if !a.cfgPtr.Load().Default.Debug {
		t.Fatal("a failed reload replaced the configuration")
	}
}

// Main's exit code names what failed.
func TestMainExitCodesNameTheCause(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	noServices := func(*App) ([]Service, error) { t.Fatal("services built after a start-up failure"); return nil, nil }
	cases := []struct {
		name string
		conf string
		want int
	}{
		{"bad value", "[DEFAULT]\nreport_interval = -5\n", ExitConfig},
		{"unknown option", "[DEFAULT]\nno_such_option = 1\n", ExitConfig},
		{"database down", "[database]\nconnection = postgresql://nova@127.0.0.1:1/nova?connect_timeout=2\n", ExitDatabase},
		{"no transport_url", "", ExitConfig},
		{"broker down", "[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:1/\n", ExitTransport},
		{"stream fanout without transient quorum queues", "[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:1/\n[oslo_messaging_rabbit]\nrabbit_stream_fanout = true\nrabbit_qos_prefetch_count = 10\n", ExitConfig},
		{"unreadable ssl_ca_file", "[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:1/\n[oslo_messaging_rabbit]\nssl = true\nssl_ca_file = /nonexistent/gonova-ca.pem\n", ExitConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := write(strings.ReplaceAll(c.name, " ", "_")+".conf", c.conf)
			o := Options{Product: "test", Output: quiet()}
			if got := Main([]string{"--config-file", f}, o, noServices); got != c.want {
				t.Fatalf("exit code %d, want %d", got, c.want)
			}
		})
	}
}

// The directory of the workers' metrics sockets is refused when someone else
// could have prepared it: wrong mode, or not a directory.
func TestPrivateDirRefusesAPreparedDirectory(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	if err := privateDir(good); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(good); err != nil {
		t.Fatalf("an existing private directory: %v", err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(open); err == nil {
		t.Fatal("a directory of mode 0755 was accepted")
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(link); err == nil {
		t.Fatal("a symlink was accepted")
	}
}
