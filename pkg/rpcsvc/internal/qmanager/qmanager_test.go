package qmanager

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Names count up within a process group, as oslo's QManager.get(), and the
// counter file has oslo's format.
func TestNamesCountWithinAProcessGroup(t *testing.T) {
	dir := t.TempDir()
	m, err := New(dir, "node1", "nova-compute")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		got, err := m.Get()
		if err != nil {
			t.Fatal(err)
		}
		if want := "node1:nova-compute:" + strconv.Itoa(i); got != want {
			t.Fatalf("name %d = %q, want %q", i, got, want)
		}
	}
	// A second manager of the same group (another worker of the service)
	// continues the count.
	m2, err := New(dir, "node1", "nova-compute")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m2.Get(); got != "node1:nova-compute:4" {
		t.Fatalf("second manager: %q, want node1:nova-compute:4", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, "node1_nova-compute_qmanager"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != strconv.Itoa(syscall.Getpgrp()) || parts[1] != "4" {
		t.Fatalf("counter file %q, want <pgid>:4:<start time>", b)
	}
}

// Another process group, another start time or garbage in the file is a
// restarted service: the count starts again at 1, so the names are the
// ones of the previous run.
func TestARestartCountsFromOne(t *testing.T) {
	dir := t.TempDir()
	m, err := New(dir, "h", "p")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "h_p_qmanager")
	for _, old := range []string{
		"1:7:" + strconv.FormatInt(m.startTime, 10), // another group
		strconv.Itoa(m.pg) + ":7:1",                 // same group id, another leader
		"garbage", "",
	} {
		if err := os.WriteFile(f, []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, _ := m.Get(); got != "h:p:1" {
			t.Fatalf("after %q: %q, want h:p:1", old, got)
		}
	}
}

// Concurrent callers never get the same name (the file is locked).
func TestConcurrentNamesAreDistinct(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := New(dir, "h", "p")
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 25; i++ {
				n, err := m.Get()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("name %s handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d names, want 200", len(seen))
	}
}

func TestRefusesNamesThatAreNoFileNames(t *testing.T) {
	if _, err := New(t.TempDir(), "a/b", "p"); err == nil {
		t.Fatal("a hostname with / accepted")
	}
	if _, err := New(t.TempDir(), "", "p"); err == nil {
		t.Fatal("an empty hostname accepted")
	}
}

// A process group whose leader exited (no /proc/<pgid>) still counts.
func TestAGroupWithoutItsLeaderCounts(t *testing.T) {
	dir := t.TempDir()
	m, err := newFor(dir, "h", "p", 1<<30) // no such process
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"h:p:1", "h:p:2"} {
		if got, err := m.Get(); err != nil || got != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
	}
}
