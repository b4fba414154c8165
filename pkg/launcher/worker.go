package launcher

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Environment a ProcessLauncher parent sets for its workers.
const (
	envWorker    = "GONOVA_WORKER"     // worker index, 0-based
	envParentPID = "GONOVA_PARENT_PID" // the parent's pid, for the ppid check
	envReadyFD   = "GONOVA_READY_FD"   // a pipe the worker writes one byte to once started
	envListenFDs = "GONOVA_LISTEN_FDS" // name=fd,name=fd: inherited listening sockets
)

// workerInfo is what a worker learns from its environment.
type workerInfo struct {
	index     int
	parentPID int
	readyFD   int            // -1 when absent
	listenFDs map[string]int // by listener name
}

// currentWorker parses the worker environment once and removes it, so that
// programs the worker runs do not mistake themselves for workers.
var currentWorker = sync.OnceValues(func() (*workerInfo, error) {
	w, err := parseWorkerEnv(os.Getenv)
	for _, k := range []string{envWorker, envParentPID, envReadyFD, envListenFDs} {
		os.Unsetenv(k)
	}
	return w, err
})

func parseWorkerEnv(getenv func(string) string) (*workerInfo, error) {
	idx := getenv(envWorker)
	if idx == "" {
		return nil, nil
	}
	w := &workerInfo{readyFD: -1, listenFDs: map[string]int{}}
	var err error
	if w.index, err = strconv.Atoi(idx); err != nil {
		return nil, fmt.Errorf("launcher: %s=%q: %w", envWorker, idx, err)
	}
	if w.parentPID, err = strconv.Atoi(getenv(envParentPID)); err != nil {
		return nil, fmt.Errorf("launcher: %s=%q: %w", envParentPID, getenv(envParentPID), err)
	}
	if v := getenv(envReadyFD); v != "" {
		if w.readyFD, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("launcher: %s=%q: %w", envReadyFD, v, err)
		}
	}
	if v := getenv(envListenFDs); v != "" {
		for _, pair := range strings.Split(v, ",") {
			name, fd, ok := strings.Cut(pair, "=")
			n, err := strconv.Atoi(fd)
			if !ok || err != nil || name == "" {
				return nil, fmt.Errorf("launcher: %s=%q: bad entry %q", envListenFDs, v, pair)
			}
			w.listenFDs[name] = n
		}
	}
	return w, nil
}

// WorkerIndex returns this process's worker index (0-based) when it runs as
// a ProcessLauncher worker. Services can use it, for example, to pick a
// per-worker port.
func WorkerIndex() (index int, ok bool) {
	w, err := currentWorker()
	if w == nil || err != nil {
		return 0, false
	}
	return w.index, true
}

// IsWorker reports whether this process is a ProcessLauncher worker.
func IsWorker() bool {
	_, ok := WorkerIndex()
	return ok
}

// signalReady tells the parent that every service has started.
func (w *workerInfo) signalReady(log *slog.Logger) {
	if w == nil || w.readyFD < 0 {
		return
	}
	f := os.NewFile(uintptr(w.readyFD), "ready-pipe")
	if _, err := f.Write([]byte{'R'}); err != nil {
		log.Warn("cannot tell the parent this worker is ready", "err", err)
	}
	f.Close()
	w.readyFD = -1
}

// watchParent closes the returned channel when the parent has died. Linux's
// Pdeathsig (set by the parent) delivers SIGTERM too; this check covers the
// parent dying before the child set it up, and platforms without it.
func (w *workerInfo) watchParent(ctx context.Context, every time.Duration, wg *sync.WaitGroup) <-chan struct{} {
	if w == nil {
		return nil
	}
	gone := make(chan struct{})
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if os.Getppid() != w.parentPID {
				close(gone)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return gone
}
