// Package testenv tells tests where the real Postgres, RabbitMQ and Python
// oslo.messaging peer are, and decides what a test does when one is missing.
//
// Why: gonova's tests run against the real parts, never mocks. On a developer's
// laptop a missing part should skip the test with a message that says what to
// start; in CI (CI=true) the same absence is a failure, because a green run that
// silently skipped the interesting tests would hide a broken set-up.
//
// Addresses can be overridden with GONOVA_TEST_PG_URL and GONOVA_TEST_RABBIT_URL.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DefaultPostgresURL is the administrative connection used to create per-package
// databases: trust auth on loopback, as on the development machines.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DefaultRabbitURL is the local broker with the stock guest account.
const DefaultRabbitURL = "amqp://guest:guest@127.0.0.1:5672/"

// PythonPath is Debian's interpreter, which is the one that sees Debian's
// python3-oslo.messaging package (a pyenv python on PATH does not).
const PythonPath = "/usr/bin/python3"

// InCI reports whether the tests run under CI, where missing parts fail tests.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// PostgresURL is the administrative Postgres URL for tests.
func PostgresURL() string {
	if v := os.Getenv("GONOVA_TEST_PG_URL"); v != "" {
		return v
	}
	return DefaultPostgresURL
}

// RabbitURL is the AMQP URL of the test broker.
func RabbitURL() string {
	if v := os.Getenv("GONOVA_TEST_RABBIT_URL"); v != "" {
		return v
	}
	return DefaultRabbitURL
}

// RequirePostgres skips (or, in CI, fails) the test when Postgres does not accept
// TCP connections.
func RequirePostgres(t testing.TB) {
	t.Helper()
	require(t, "Postgres", hostPort(PostgresURL(), "5432"), "run scripts/services.sh (or start PostgreSQL on 127.0.0.1:5432)")
}

// RequireRabbit skips (or, in CI, fails) the test when RabbitMQ does not accept
// TCP connections.
func RequireRabbit(t testing.TB) {
	t.Helper()
	require(t, "RabbitMQ", hostPort(RabbitURL(), "5672"), "run scripts/services.sh (or start RabbitMQ on 127.0.0.1:5672)")
}

// RequirePythonOslo skips (or, in CI, fails) the test when Debian's python3 cannot
// import oslo_messaging.
func RequirePythonOslo(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, PythonPath, "-c", "import oslo_messaging").CombinedOutput()
	if err != nil {
		missing(t, "python3-oslo.messaging", "run scripts/services.sh (apt-get install python3-oslo.messaging): "+strings.TrimSpace(string(out)))
	}
}

// RequirePython skips (or, in CI, fails) the test when Debian's python3
// cannot import module, which Debian's package debPackage provides
// (RequirePython(t, "oslo_policy", "python3-oslo.policy")).
func RequirePython(t testing.TB, module, debPackage string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, PythonPath, "-c", "import "+module).CombinedOutput()
	if err != nil {
		missing(t, debPackage, "run scripts/services.sh (apt-get install "+debPackage+"): "+strings.TrimSpace(string(out)))
	}
}

// UniqueName returns prefix followed by 12 random hex characters: a name for a
// database, exchange or topic that no other test package uses at the same time.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

func require(t testing.TB, what, addr, hint string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		missing(t, what, hint+": "+err.Error())
		return
	}
	_ = c.Close()
}

func missing(t testing.TB, what, hint string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required in CI but not available; %s", what, hint)
	}
	t.Skipf("%s not available (set CI=true to make this a failure); %s", what, hint)
}

func hostPort(raw, defPort string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "127.0.0.1:" + defPort
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), defPort)
	}
	return u.Host
}

// RequirePromtool returns the path of Prometheus's promtool: $PROMTOOL, the
// one on PATH, or the one scripts/services.sh takes from Debian's prometheus
// package into .tools/bin at the repository root. It skips (or, in CI, fails)
// the test when there is none.
func RequirePromtool(t testing.TB) string {
	t.Helper()
	candidates := []string{os.Getenv("PROMTOOL")}
	if p, err := exec.LookPath("promtool"); err == nil {
		candidates = append(candidates, p)
	}
	if root, err := repoRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, ".tools", "bin", "promtool"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c
		}
	}
	missing(t, "promtool", "run scripts/services.sh (it takes promtool from Debian's prometheus package), or set PROMTOOL")
	return ""
}

// repoRoot is the nearest directory above the working directory that holds
// go.mod (tests run in their package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// RequirePythonModules skips (or, in CI, fails) the test when Debian's python3
// cannot import every module named (python3-nova's "nova.objects", say); hint
// says what to install.
func RequirePythonModules(t testing.TB, hint string, modules ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := "import " + strings.Join(modules, ", ")
	out, err := exec.CommandContext(ctx, PythonPath, "-c", code).CombinedOutput()
	if err != nil {
		missing(t, strings.Join(modules, ", "), hint+": "+strings.TrimSpace(string(out)))
	}
}

// RequireCommand returns the path of the executable path (absolute, such
// as Debian's /usr/bin/openstack) after checking that it exists and is
// executable; it skips (or, in CI, fails) the test when it is not, with
// hint saying what to install.
func RequireCommand(t testing.TB, path, hint string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err == nil && (fi.IsDir() || fi.Mode()&0o111 == 0) {
		err = errors.New("not an executable file")
	}
	if err != nil {
		missing(t, path, hint+": "+err.Error())
	}
	return path
}
