package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// oscShell is one interactive `openstack` process (OSC's cliff shell,
// which reads commands on stdin): it logs in once and then runs each
// command in a few hundred milliseconds, where a process per command pays
// OSC's start-up (1.5-3 s on the test machines) every time. Each command is
// followed by a shell escape that echoes a marker, so the combined output
// up to the marker is that command's.
//
// The shell does not report a failed command's status, so callers say what
// success looks like: no output (ok), JSON only (json), or output they
// check themselves (text).
type oscShell struct {
	t     testing.TB
	label string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	mu    sync.Mutex
	n     int
}

// startOSCShell starts `openstack` reading commands on stdin, with env
// (oscEnv's) and the compute microversion (OS_COMPUTE_API_VERSION: the
// interactive shell would run global options given as arguments as a
// command). It is stopped when the test ends.
func startOSCShell(t testing.TB, label string, env []string, microversion string) *oscShell {
	t.Helper()
	cmd := exec.Command(openstackCLI)
	env = append(append([]string(nil), env...), "OS_COMPUTE_API_VERSION="+microversion)
	// Unbuffered, so the command's output comes before the marker the
	// shell escape prints; no Python warnings in the output.
	cmd.Env = append(append([]string(nil), env...), "PYTHONUNBUFFERED=1", "PYTHONWARNINGS=ignore")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &oscShell{t: t, label: label, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(s.lines)
		r := bufio.NewReaderSize(pr, 1<<20)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				s.lines <- strings.TrimSuffix(line, "\n")
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(s.done)
	}()
	t.Cleanup(s.close)
	return s
}

func (s *oscShell) close() {
	_ = s.stdin.Close() // the shell exits at end of input
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	for range s.lines { // drain, so the reader goroutine ends
	}
}

// progress is what OSC's --wait prints while it polls.
var progress = regexp.MustCompile(`\rProgress: \d+`)

// run sends one command line and returns its output (stdout and stderr,
// --wait's progress removed), or an error when the shell died or the
// command took longer than within.
func (s *oscShell) run(line string, within time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	marker := fmt.Sprintf("__gonova_osc_done_%d__", s.n)
	if _, err := fmt.Fprintf(s.stdin, "%s\n!echo %s\n", line, marker); err != nil {
		return "", fmt.Errorf("openstack shell (%s) is gone: %w", s.label, err)
	}
	var out []string
	timeout := time.After(within)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return strings.Join(out, "\n"), fmt.Errorf("openstack shell (%s) exited during %q", s.label, line)
			}
			if l == marker {
				return strings.TrimSpace(progress.ReplaceAllString(strings.Join(out, "\n"), "")), nil
			}
			out = append(out, l)
		case <-timeout:
			return strings.Join(out, "\n"), fmt.Errorf("openstack %s (%s): no answer within %v", line, s.label, within)
		}
	}
}

const oscTimeout = 120 * time.Second

// ok runs a command that prints nothing when it succeeds (but the
// "Complete" of some --wait): any output is its error, and fails the test.
func (s *oscShell) ok(t testing.TB, line string) {
	t.Helper()
	start := time.Now()
	out, err := s.run(line, oscTimeout)
	if strings.Contains(line, "--wait") && out == "Complete" {
		out = ""
	}
	if err != nil || out != "" {
		t.Fatalf("openstack %s (%s): %v\n%s", line, s.label, err, tail(out, 40))
	}
	t.Logf("openstack %s (%s, %v)", line, s.label, time.Since(start).Round(time.Millisecond))
}

// json runs a command with -f json; its whole output must be JSON, decoded
// into out (after the "Complete" line a --wait prints first, as OSC's
// server rebuild --wait does).
func (s *oscShell) json(t testing.TB, line string, out any) {
	t.Helper()
	start := time.Now()
	got, err := s.run(line+" -f json", oscTimeout)
	if strings.Contains(line, "--wait") {
		got = strings.TrimPrefix(got, "Complete\n")
	}
	if err == nil {
		err = json.Unmarshal([]byte(got), out)
	}
	if err != nil {
		t.Fatalf("openstack %s -f json (%s): %v\n%s", line, s.label, err, tail(got, 40))
	}
	t.Logf("openstack %s -f json (%s, %v): %s", line, s.label, time.Since(start).Round(time.Millisecond), oneLine(got, 300))
}

// text runs a command and returns its output, which the caller checks.
func (s *oscShell) text(t testing.TB, line string) string {
	t.Helper()
	got, err := s.run(line, oscTimeout)
	if err != nil {
		t.Fatalf("openstack %s (%s): %v\n%s", line, s.label, err, tail(got, 40))
	}
	return got
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
