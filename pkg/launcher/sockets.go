package launcher

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sockets hands out named listening sockets that work the same in a single
// process, in a ProcessLauncher parent and in its workers: the first two
// bind, a worker gets the socket its parent bound and passed down, so that
// every worker accepts on one shared port (the kernel spreads connections
// between them).
//
// Most code uses the package-level [Listen], which uses a process-wide
// Sockets.
type Sockets struct {
	mu        sync.Mutex
	inherited map[string]int // fd by name; nil outside a worker
	worker    bool
	bound     map[string]net.Listener
	order     []string
}

var defaultSockets = sync.OnceValue(func() *Sockets {
	w, _ := currentWorker() // a malformed environment fails in New
	if w == nil {
		return NewSockets()
	}
	return newInheritedSockets(w.listenFDs)
})

// DefaultSockets returns the process-wide Sockets used by [Listen].
func DefaultSockets() *Sockets { return defaultSockets() }

// NewSockets returns an empty Sockets that binds.
func NewSockets() *Sockets { return &Sockets{bound: map[string]net.Listener{}} }

func newInheritedSockets(fds map[string]int) *Sockets {
	s := NewSockets()
	s.worker = true
	s.inherited = fds
	return s
}

// Listen returns the listening socket called name. In a single process or a
// ProcessLauncher parent it binds network/addr now (a port in use is an
// error); in a worker it returns the socket the parent bound under that name
// and ignores network and addr. Each name can be taken once.
//
// Call it before Launcher.Run (in a service's constructor or its Bind), so
// that the parent has bound it before it starts workers:
//
//	l, err := launcher.Listen("osapi_compute", "tcp", net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port)))
//	if err != nil {
//		return nil, err
//	}
//	// serve on l once the service starts
func Listen(name, network, addr string) (net.Listener, error) {
	return defaultSockets().Listen(name, network, addr)
}

// Listen is the method behind the package-level [Listen].
func (s *Sockets) Listen(name, network, addr string) (net.Listener, error) {
	if name == "" || strings.ContainsAny(name, ",= ") {
		return nil, fmt.Errorf("launcher: listener name %q must be non-empty without ',', '=' or spaces", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.bound[name]; dup {
		return nil, fmt.Errorf("launcher: listener %q already taken", name)
	}
	var (
		l   net.Listener
		err error
	)
	if s.worker {
		fd, ok := s.inherited[name]
		if !ok {
			return nil, fmt.Errorf("launcher: listener %q was not passed down by the parent process: "+
				"call launcher.Listen before Launcher.Run (in the service's constructor or Bind)", name)
		}
		f := os.NewFile(uintptr(fd), name)
		l, err = net.FileListener(f) // dups the fd
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("launcher: inherited listener %q (fd %d): %w", name, fd, err)
		}
	} else {
		l, err = net.Listen(network, addr)
		if err != nil {
			return nil, fmt.Errorf("launcher: listener %q: %w", name, err)
		}
	}
	s.bound[name] = l
	s.order = append(s.order, name)
	return l, nil
}

// files duplicates the bound sockets as files for a child's ExtraFiles, in
// a fixed order, with their names.
//
// It does not use (*net.TCPListener).File: that file's Fd method, which
// os.StartProcess calls, puts the descriptor into blocking mode, and
// O_NONBLOCK belongs to the open socket shared by every worker. A worker
// already serving would then sit in a blocking accept(2) that closing its
// listener cannot interrupt, and its graceful stop would hang. A plain dup
// wrapped by os.NewFile keeps the socket non-blocking.
func (s *Sockets) files() (names []string, files []*os.File, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names = slices.Clone(s.order)
	for _, n := range names {
		var f *os.File
		f, err = dupListener(n, s.bound[n])
		if err != nil {
			break
		}
		files = append(files, f)
	}
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, err
	}
	return names, files, nil
}

// dupListener returns a close-on-exec duplicate of l's descriptor that
// os/exec can pass to a child without changing the socket's blocking mode.
func dupListener(name string, l net.Listener) (*os.File, error) {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("launcher: listener %q (%T) cannot be passed to workers", name, l)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("launcher: listener %q: %w", name, err)
	}
	dup := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("launcher: listener %q: %w", name, err)
	}
	if dupErr != nil {
		return nil, fmt.Errorf("launcher: listener %q: dup: %w", name, dupErr)
	}
	return os.NewFile(uintptr(dup), name), nil
}

// Close closes every socket bound or inherited through s.
func (s *Sockets) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, n := range s.order {
		if err := s.bound[n].Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
