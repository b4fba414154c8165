package launcher

import (
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSocketsBindOnceAndInherit(t *testing.T) {
	s := NewSockets()
	l, err := s.Listen("api", "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen("api", "tcp", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("second Listen(api): %v", err)
	}
	if _, err := s.Listen("bad,name", "tcp", "127.0.0.1:0"); err == nil {
		t.Fatal("a name with ',' accepted")
	}
	// Bind-before-ready: a port in use is an error at once.
	if _, err := NewSockets().Listen("again", "tcp", l.Addr().String()); err == nil || !strings.Contains(err.Error(), `listener "again"`) {
		t.Fatalf("binding a used port: %v", err)
	}

	names, files, err := s.files()
	if err != nil || len(files) != 1 || names[0] != "api" {
		t.Fatalf("files() = %v %v %v", names, files, err)
	}
	// A worker sees the same socket through the inherited fd.
	w := newInheritedSockets(map[string]int{"api": int(files[0].Fd())})
	wl, err := w.Listen("api", "tcp", "ignored:1")
	if err != nil {
		t.Fatal(err)
	}
	if wl.Addr().String() != l.Addr().String() {
		t.Fatalf("inherited %v, want %v", wl.Addr(), l.Addr())
	}
	if _, err := w.Listen("admin", "tcp", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "before Launcher.Run") {
		t.Fatalf("a name the parent did not bind: %v", err)
	}
	accepted := make(chan string, 1)
	go func() {
		c, err := wl.Accept()
		if err != nil {
			accepted <- err.Error()
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		accepted <- string(b)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	c.Close()
	if got := <-accepted; got != "hello" {
		t.Fatalf("accepted %q", got)
	}
	files[0].Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParseWorkerEnv(t *testing.T) {
	env := map[string]string{
		envWorker: "1", envParentPID: "42", envReadyFD: "5", envListenFDs: "api=3,metrics=4",
	}
	w, err := parseWorkerEnv(func(k string) string { return env[k] })
	if err != nil || w.index != 1 || w.parentPID != 42 || w.readyFD != 5 || w.listenFDs["metrics"] != 4 || len(w.listenFDs) != 2 {
		t.Fatalf("parse = %+v, %v", w, err)
	}
	if w, err := parseWorkerEnv(func(string) string { return "" }); w != nil || err != nil {
		t.Fatalf("no worker env: %+v, %v", w, err)
	}
	env[envListenFDs] = "api"
	if _, err := parseWorkerEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("bad fd list accepted")
	}
}

// Handing a socket to a new worker must not put the socket that running
// workers share into blocking mode: a worker blocked in accept(2) cannot be
// stopped by closing its listener (a re-spawn used to hang the survivors'
// graceful stop).
func TestSocketsPassedToWorkersStayNonBlocking(t *testing.T) {
	s := NewSockets()
	l, err := s.Listen("api", "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, files, err := s.files()
	if err != nil {
		t.Fatal(err)
	}
	fd := files[0].Fd() // what os.StartProcess does with ExtraFiles
	defer files[0].Close()

	for what, fd := range map[string]uintptr{"passed": fd, "bound": listenerFD(t, l)} {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if flags&unix.O_NONBLOCK == 0 {
			t.Errorf("%s socket is in blocking mode after files()+Fd()", what)
		}
	}
}

func listenerFD(t *testing.T, l net.Listener) uintptr {
	t.Helper()
	rc, err := l.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got uintptr
	if err := rc.Control(func(fd uintptr) { got = fd }); err != nil {
		t.Fatal(err)
	}
	return got
}
