package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// pythonURL is the broker URL in oslo's spelling (rabbit://).
func pythonURL() string { return testenv.OsloURL(testenv.RabbitURL()) }

// lockedBuffer collects a child's stderr while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pyEvent is one JSON line printed by pyserver.py.
type pyEvent struct {
	Event   string         `json:"event"`
	N       int            `json:"n"`
	Context map[string]any `json:"context"`
}

// pyServer is a running testdata/pyserver.py.
type pyServer struct {
	Server string
	Events chan pyEvent // every JSON line, in order
	stderr *lockedBuffer
}

// startPyServer runs pyserver.py on exchange/topic/server and returns once it
// printed READY. The process is stopped (stdin closed, then killed) when the
// test ends, and its stderr is logged if the test failed.
func startPyServer(tb testing.TB, exchange, topic, server string) *pyServer {
	tb.Helper()
	return startPyServerFlags(tb, exchange, topic, server)
}

// startPyServerFlags is startPyServer with more pyserver.py flags (a later
// --url wins; --config-file).
func startPyServerFlags(tb testing.TB, exchange, topic, server string, flags ...string) *pyServer {
	tb.Helper()
	testenv.RequirePythonOslo(tb)
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{filepath.Join("testdata", "pyserver.py"),
		"--url", pythonURL(), "--exchange", exchange, "--topic", topic, "--server", server}, flags...)
	cmd := exec.CommandContext(ctx, testenv.PythonPath, args...)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	ps := &pyServer{Server: server, Events: make(chan pyEvent, 100_000), stderr: &lockedBuffer{}}
	cmd.Stderr = ps.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("starting pyserver.py: %v", err)
	}
	ready := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(ps.Events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sawReady := false
		for sc.Scan() {
			line := sc.Text()
			if !sawReady {
				if line == "READY" {
					sawReady = true
					close(ready)
				}
				continue
			}
			var ev pyEvent
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				ps.stderr.Write([]byte("gonova test: unparsable stdout line: " + line + "\n"))
				continue
			}
			ps.Events <- ev
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() {
		<-readerDone
		exited <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		_ = stdin.Close() // pyserver stops when its stdin closes
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cancel() // SIGKILL
			<-exited
		}
		cancel()
		if tb.Failed() {
			tb.Logf("pyserver.py %s stderr:\n%s", server, ps.stderr.String())
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		tb.Fatalf("pyserver.py exited before READY: %v\nstderr:\n%s", err, ps.stderr.String())
	case <-time.After(60 * time.Second):
		tb.Fatalf("pyserver.py not READY within 60s\nstderr:\n%s", ps.stderr.String())
	}
	return ps
}

// nextEvent waits up to d for the next event of the given kind, skipping
// others.
func (ps *pyServer) nextEvent(tb testing.TB, kind string, d time.Duration) pyEvent {
	tb.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ps.Events:
			if !ok {
				tb.Fatalf("pyserver.py %s exited while waiting for a %q event", ps.Server, kind)
			}
			if ev.Event == kind {
				return ev
			}
		case <-timer.C:
			tb.Fatalf("no %q event from pyserver.py %s within %v", kind, ps.Server, d)
		}
	}
}

// pyClient runs testdata/pyclient.py with the given mode and flags against
// exchange/topic, and returns its JSON output decoded into out.
func pyClient(tb testing.TB, exchange, topic, mode string, out any, flags ...string) {
	tb.Helper()
	testenv.RequirePythonOslo(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := append([]string{filepath.Join("testdata", "pyclient.py"), mode,
		"--url", pythonURL(), "--exchange", exchange, "--topic", topic}, flags...)
	cmd := exec.CommandContext(ctx, testenv.PythonPath, args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err := cmd.Run()
	if err != nil {
		tb.Fatalf("pyclient.py %s %s: %v\nstdout:\n%s\nstderr:\n%s", mode, strings.Join(flags, " "), err, stdout.String(), stderr.String())
	}
	line := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal(line, out); err != nil {
		tb.Fatalf("pyclient.py %s: output %q: %v\nstderr:\n%s", mode, stdout.String(), err, stderr.String())
	}
}

// pyCallResult is pyclient.py's output for call mode.
type pyCallResult struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorClass  string          `json:"error_class"`
	ErrorModule string          `json:"error_module"`
	ExcType     string          `json:"exc_type"`
	Value       string          `json:"value"`
	Traceback   []string        `json:"traceback"`
	Str         string          `json:"str"`
}

func (r pyCallResult) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// pyCall calls method with JSON args from a Python client.
func pyCall(tb testing.TB, exchange, topic, method string, args any, flags ...string) pyCallResult {
	tb.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		tb.Fatal(err)
	}
	var r pyCallResult
	pyClient(tb, exchange, topic, "call", &r, append([]string{"--method", method, "--args", string(b)}, flags...)...)
	return r
}

// pyBenchResult is pyclient.py's output for bench mode.
type pyBenchResult struct {
	Calls        int     `json:"calls"`
	CallP50Ms    float64 `json:"call_p50_ms"`
	CallP99Ms    float64 `json:"call_p99_ms"`
	CallsPerS    float64 `json:"calls_per_s"`
	Casts        int     `json:"casts"`
	CastsHandled int     `json:"casts_handled"`
	CastsPerS    float64 `json:"casts_per_s"`
}

func (r pyBenchResult) check() error {
	if r.CastsHandled != r.Casts {
		return fmt.Errorf("server handled %d of %d casts", r.CastsHandled, r.Casts)
	}
	if r.CallP50Ms <= 0 || r.CastsPerS <= 0 {
		return errors.New("implausible bench output")
	}
	return nil
}
