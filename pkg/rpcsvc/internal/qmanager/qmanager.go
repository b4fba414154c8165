// Package qmanager names reply and fanout queues as oslo.messaging's
// QManager does with use_queue_manager (amqpdriver.py, oslo 2024.1 and
// later): `<hostname>:<processname>:<n>`, n counting the queues a process
// group asked for since it started. A service that restarts asks for its
// queues in the same order and gets the same names, so it consumes the
// queues it left (still there for rabbit_transient_queues_ttl) instead of
// making new ones: at scale, queue creation and deletion is what costs the
// broker most.
//
// The counter lives in /dev/shm/<hostname>_<processname>_qmanager as
// "<pgid>:<n>:<start time>", oslo's file and format: the process group and
// the start time (in clock ticks since boot, /proc/<pgid>/stat field 22) of
// the group's leader tell a restart (the counter starts again at 1) from
// another process of the same group (workers of one service: it goes on).
// oslo guards it with an oslo.concurrency file lock; gonova with flock(2)
// on the file itself.
package qmanager

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Dir is where the counters are kept, as in oslo.
const Dir = "/dev/shm"

// Manager hands out queue name suffixes.
type Manager struct {
	hostname, processname string
	file                  string
	pg                    int
	startTime             int64
}

// New returns the manager of hostname and processname, with its counter in
// dir (Dir in production).
func New(dir, hostname, processname string) (*Manager, error) {
	if hostname == "" || processname == "" {
		return nil, errors.New("qmanager: hostname and processname must not be empty")
	}
	for _, s := range []string{hostname, processname} {
		if strings.ContainsAny(s, "/\x00") {
			return nil, fmt.Errorf("qmanager: %q cannot be part of a file name", s)
		}
	}
	return newFor(dir, hostname, processname, syscall.Getpgrp())
}

// newFor is New for the process group pg.
func newFor(dir, hostname, processname string, pg int) (*Manager, error) {
	id := pg
	if id == 0 {
		// crun can start a process in group 0, and /proc/0 does not
		// exist: oslo falls back to the process id.
		id = os.Getpid()
	}
	st, err := startTime(id)
	if err != nil {
		// The group's leader has exited (its members live on; oslo fails
		// here). The group id alone still tells a restart (a new group)
		// from another member of this one: never the same name twice, at
		// worst a restarted service whose group id repeats goes on counting.
		st = -1
	}
	return &Manager{
		hostname: hostname, processname: processname,
		file: filepath.Join(dir, hostname+"_"+processname+"_qmanager"),
		pg:   pg, startTime: st,
	}, nil
}

// startTime reads field 22 of /proc/<pid>/stat: when the process started,
// in clock ticks after boot.
func startTime(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("qmanager: %w", err)
	}
	// Field 2, the command, is in parentheses and may hold spaces: count
	// from after its closing one (field 3 on).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	fields := strings.Fields(s[i+1:])
	if i < 0 || len(fields) < 20 {
		return 0, fmt.Errorf("qmanager: cannot read /proc/%d/stat", pid)
	}
	return strconv.ParseInt(fields[19], 10, 64)
}

// Get returns the next name: "<hostname>:<processname>:<n>".
func (m *Manager) Get() (string, error) {
	n, err := m.next()
	if err != nil {
		return "", err
	}
	return m.hostname + ":" + m.processname + ":" + strconv.Itoa(n), nil
}

func (m *Manager) next() (int, error) {
	f, err := os.OpenFile(m.file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("qmanager: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("qmanager: locking %s: %w", m.file, err)
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	buf := make([]byte, 256)
	k, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("qmanager: reading %s: %w", m.file, err)
	}
	counter := 0
	if pg, n, st, ok := parse(string(buf[:k])); ok && pg == m.pg && st == m.startTime {
		counter = n
	}
	// Otherwise: no file, garbage (oslo's ValueError), or another process
	// group or start time: the service restarted, count from 1 again.
	counter++
	line := strconv.Itoa(m.pg) + ":" + strconv.Itoa(counter) + ":" + strconv.FormatInt(m.startTime, 10)
	if err := f.Truncate(0); err != nil {
		return 0, fmt.Errorf("qmanager: writing %s: %w", m.file, err)
	}
	if _, err := f.WriteAt([]byte(line), 0); err != nil {
		return 0, fmt.Errorf("qmanager: writing %s: %w", m.file, err)
	}
	return counter, nil
}

// parse reads oslo's "<pg>:<counter>:<start time>" (the first line).
func parse(s string) (pg, counter int, start int64, ok bool) {
	line, _, _ := strings.Cut(s, "\n")
	parts := strings.Split(strings.TrimSpace(line), ":")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	pg, err1 := strconv.Atoi(parts[0])
	counter, err2 := strconv.Atoi(parts[1])
	start, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return pg, counter, start, true
}
