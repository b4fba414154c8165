package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gonova-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "../../cmd/nova-compute", "../../cmd/nova-api", "../../cmd/nova-all", "../../cmd/nova-manage", "./testdata/bareapi", "./testdata/loadgen")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a running gonova binary whose output is kept for failure reports.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeConf writes a nova.conf from section -> option -> value.
func writeConf(t testing.TB, name string, sections map[string]map[string]string) string {
	t.Helper()
	var b strings.Builder
	// Each process gets its own free port for nova-api's metrics listener
	// unless the test chose one: the default 127.0.0.1:9775 would be fought
	// over by tests running at once.
	if _, set := sections["gonova"]["api_metrics_listen"]; !set {
		g := map[string]string{"api_metrics_listen": "127.0.0.1:0"}
		for k, v := range sections["gonova"] {
			g[k] = v
		}
		sections["gonova"] = g
	}
	// The services boot nova's classic m1.* flavors (flavorRef "1") unless
	// the test says otherwise.
	if _, set := sections["gonova"]["default_flavors"]; !set {
		sections["gonova"]["default_flavors"] = "true"
	}
	order := []string{"DEFAULT", "api", "database", "oslo_messaging_rabbit", "gonova", "keystone_authtoken"}
	var others []string // every other section too ([quota], ...), in name order
	for sec := range sections {
		if !slices.Contains(order, sec) {
			others = append(others, sec)
		}
	}
	slices.Sort(others)
	for _, sec := range append(order, others...) {
		opts, ok := sections[sec]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "[%s]\n", sec)
		for k, v := range opts {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs a binary with --config-file conf. Cleanup kills it if the test
// did not stop it, and the output is printed when the test failed.
func start(t testing.TB, bin, name, conf string) *proc {
	t.Helper()
	return startArgs(t, bin, name, "--config-file", conf)
}

// startArgs runs a binary with args; see start.
func startArgs(t testing.TB, bin, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET=")
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- output of %s ----\n%s", name, tail(p.out.String(), 60))
		}
	})
	return p
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t testing.TB, within time.Duration) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v of SIGTERM", p.name, within)
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitHealthy polls url/healthcheck until it answers 200.
func waitHealthy(t testing.TB, p *proc, base string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s exited during start-up: %v", p.name, p.err)
		default:
		}
		resp, err := http.Get(base + "/healthcheck")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not healthy at %s within %v", p.name, base, within)
}

// eventually retries cond until it returns nil or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, within, err)
}

// apiClient talks to nova-api as an OpenStack client does (noauth2 tokens).
type apiClient struct {
	base, token, version string
}

func (c apiClient) do(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("Content-Type", "application/json")
	if c.version != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+c.version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s: %w", method, path, resp.StatusCode, b, err)
		}
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

func splitHostPort(t testing.TB, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}
