package launcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// child is a helper process (the test binary re-executed) with its stderr
// captured.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	out *syncBuffer
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

func startChild(t *testing.T, mode string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stderr = out
	cmd.Stdout = out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("child output:\n%s", out.String())
		}
	})
	return c
}

// waitFor waits until the child's output contains s.
func (c *child) waitFor(s string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(c.out.String(), s) {
		if time.Now().After(deadline) {
			c.t.Fatalf("child never wrote %q", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
}

// exit waits for the child to end and returns its exit code.
func (c *child) exit(timeout time.Duration) int {
	c.t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			c.t.Fatalf("wait: %v", err)
		}
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		c.cmd.Process.Kill()
		<-done
		c.t.Fatalf("child did not exit within %s", timeout)
		return -1
	}
}

func TestChildSIGTERMLetsWorkInFlightFinish(t *testing.T) {
	c := startChild(t, "inflight")
	c.waitFor("job started", 5*time.Second)
	c.waitFor("all services started", 5*time.Second)
	c.signal(syscall.SIGTERM)
	if code := c.exit(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	out := c.out.String()
	fin, stopped := strings.Index(out, "job finished"), strings.Index(out, "all services stopped")
	if fin < 0 || stopped < 0 || fin > stopped {
		t.Fatalf("the job did not finish before the stop completed (finished@%d stopped@%d)", fin, stopped)
	}
	if !strings.Contains(out, "caught signal, stopping") || !strings.Contains(out, "signal=terminated") {
		t.Fatal("the signal was not logged")
	}
}

func TestChildStopTimeoutNamesTheService(t *testing.T) {
	c := startChild(t, "stubborn")
	c.waitFor("all services started", 5*time.Second)
	t0 := time.Now()
	c.signal(syscall.SIGTERM)
	code := c.exit(5 * time.Second)
	if code == 0 {
		t.Fatal("exit code 0 after a timed-out shutdown")
	}
	if el := time.Since(t0); el < 300*time.Millisecond {
		t.Fatalf("exited after %s, before the 300ms graceful_shutdown_timeout", el)
	}
	c.waitFor("graceful shutdown timed out, exiting", time.Second)
	c.waitFor(`still_stopping="[stubborn jobs]"`, time.Second)
}

func TestChildSecondSignalExitsAtOnce(t *testing.T) {
	c := startChild(t, "stubborn", "UNUSED=1")
	c.waitFor("all services started", 5*time.Second)
	c.signal(syscall.SIGTERM)
	c.waitFor("stopping service", 2*time.Second)
	c.signal(syscall.SIGINT)
	if code := c.exit(2 * time.Second); code == 0 {
		t.Fatal("exit code 0 after a second signal")
	}
	c.waitFor("second signal, exiting at once", time.Second)
}

func TestChildSIGHUPReloadsLevelAndResets(t *testing.T) {
	levelFile := filepath.Join(t.TempDir(), "level")
	if err := os.WriteFile(levelFile, []byte("INFO"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, "reload", helperLevelFile+"="+levelFile)
	c.waitFor("all services started", 5*time.Second)
	if strings.Contains(c.out.String(), "debug line") {
		t.Fatal("debug logged at INFO")
	}
	if err := os.WriteFile(levelFile, []byte("DEBUG"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.signal(syscall.SIGHUP)
	c.waitFor("log level changed", 3*time.Second)
	c.waitFor("reset called", 3*time.Second)
	c.waitFor("level=DEBUG msg=\"debug line after reset\"", 3*time.Second)
	c.signal(syscall.SIGTERM)
	if code := c.exit(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestChildSIGUSR2WritesReport(t *testing.T) {
	c := startChild(t, "report")
	c.waitFor("all services started", 5*time.Second)
	c.signal(syscall.SIGUSR2)
	c.waitFor(" Goroutines ", 3*time.Second)
	c.waitFor("goroutine 1 [", 3*time.Second) // main's stack
	c.signal(syscall.SIGTERM)
	if code := c.exit(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out := c.out.String()
	for _, want := range []string{
		"Guru Meditation", "product = launcher-helper", "version = 9.9.9",
		"transport_url = rabbit://nova:***@mq:5672/", "connection = postgresql://nova:***@db/nova",
		"jobs: running since", "jobs in flight = 0", "launcher.(*ServiceLauncher).Run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Error("report leaks a password")
	}
}

// workerPids asks the shared port until it has seen n distinct pids.
func workerPids(t *testing.T, addr string, n int, exclude map[int]bool) map[int]bool {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	seen := map[int]bool{}
	deadline := time.Now().Add(8 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 8 {
			wg.Go(func() {
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if pid, err := strconv.Atoi(string(b)); err == nil && !exclude[pid] {
					mu.Lock()
					seen[pid] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	if len(seen) < n {
		t.Fatalf("saw workers %v on %s, want %d distinct", seen, addr, n)
	}
	return seen
}

func readAddr(t *testing.T, file string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatal("the parent never wrote its address")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// "pid (comm) S ...": a zombie has finished running.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

func TestChildWorkersShareAPortAndAreRespawned(t *testing.T) {
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	notify := listenNotify(t)
	c := startChild(t, "workers", helperAddrFile+"="+addrFile, "NOTIFY_SOCKET="+notify.addr)
	addr := readAddr(t, addrFile)

	pids := workerPids(t, addr, 2, nil)
	c.waitFor("all workers started", 5*time.Second)
	notify.expect(t, "READY=1")

	var victim int
	for pid := range pids {
		victim = pid
		break
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.waitFor("worker died, re-spawning", 5*time.Second)
	// The re-spawned worker serves on the same port beside the survivor.
	fresh := workerPids(t, addr, 2, map[int]bool{victim: true})
	for pid := range fresh {
		if pid == victim {
			t.Fatalf("killed worker %d still answers", pid)
		}
	}

	c.signal(syscall.SIGTERM)
	if code := c.exit(8 * time.Second); code != 0 {
		t.Fatalf("parent exit code %d", code)
	}
	notify.expect(t, "STOPPING=1")
	c.waitFor("all workers stopped", time.Second)
	for pid := range fresh {
		if alive(pid) {
			t.Errorf("worker %d outlived its parent's clean stop", pid)
		}
	}
}

func TestChildWorkersEndWhenParentIsKilled(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	c := startChild(t, "workers", helperAddrFile+"="+addrFile)
	pids := workerPids(t, readAddr(t, addrFile), 2, nil)
	c.waitFor("all workers started", 5*time.Second)

	if err := c.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d still alive 5s after its parent was killed", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c.exit(5 * time.Second)
	// Pdeathsig's SIGTERM or the parent pid check, whichever came first.
	out := c.out.String()
	if !strings.Contains(out, "parent process died, stopping") && !strings.Contains(out, "caught signal, stopping") {
		t.Fatal("the workers did not log why they stopped")
	}
}

// A worker killed by the parent's SIGTERM before it installed its handlers
// is told apart from one that failed.
func TestDiedOfTellsASignalFromAFailure(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if !diedOf(err, syscall.SIGTERM) {
		t.Fatalf("sleep killed by SIGTERM: diedOf = false (%v)", err)
	}
	if diedOf(err, syscall.SIGKILL) {
		t.Fatal("diedOf matched the wrong signal")
	}
	if diedOf(exec.Command("false").Run(), syscall.SIGTERM) {
		t.Fatal("an exit status of 1 counted as a signal")
	}
}
