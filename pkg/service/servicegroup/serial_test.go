package servicegroup_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// TestSerialPostgresRestart restarts the shared PostgreSQL server under a
// running heartbeat: the loop survives without a restart of its own, logs the
// loss and the recovery once each, and report_count grows again after the
// server is back. The server is left running. Runs only with
// GONOVA_SERIAL_FAULTS=1 (make test-serial), alone.
func TestSerialPostgresRestart(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("restarts the shared Postgres: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	testenv.RequirePostgres(t)
	if _, err := exec.LookPath("pg_ctlcluster"); err != nil {
		t.Skip("pg_ctlcluster not found: cannot restart the server")
	}
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		t.Skipf("no cluster under /etc/postgresql: %v", err)
	}
	version := versions[0].Name()
	pgctl := func(action string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action).CombinedOutput()
		if err != nil && !(action == "start" && strings.Contains(string(out), "already running")) {
			t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
		}
	}
	t.Cleanup(func() { pgctl("start") }) // leave the server running whatever happened

	f := newPGFixture(t, 200*time.Millisecond)
	eventually(t, 5*time.Second, "a first report", func() bool { return f.count("success") >= 1 })

	pgctl("stop")
	eventually(t, 10*time.Second, "reports to fail while the server is down", func() bool { return f.count("failure") >= 2 })
	pgctl("start")
	before := f.count("success")
	eventually(t, 20*time.Second, "reports to succeed again", func() bool { return f.count("success") >= before+2 })
	if got := f.reportCount(f.svc.ID); got < 3 {
		t.Fatalf("report_count = %d after the restart", got)
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "lost"); n != 1 {
		t.Errorf("'lost' logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "recovered"); n != 1 {
		t.Errorf("'recovered' logged %d times, want once:\n%s", n, logs)
	}
}
