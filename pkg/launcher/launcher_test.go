package launcher

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/gmr"
)

// recorder collects lifecycle calls of fake services, in order.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

type fakeService struct {
	name     string
	rec      *recorder
	startErr error
	done     chan struct{}
	once     sync.Once
}

func newFake(name string, rec *recorder) *fakeService {
	return &fakeService{name: name, rec: rec, done: make(chan struct{})}
}

func (f *fakeService) Name() string { return f.name }
func (f *fakeService) Start(context.Context) error {
	f.rec.add("start " + f.name)
	return f.startErr
}
func (f *fakeService) Stop(context.Context) error {
	f.rec.add("stop " + f.name)
	f.once.Do(func() { close(f.done) })
	return nil
}
func (f *fakeService) Wait(ctx context.Context) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (f *fakeService) Reset(context.Context) error {
	f.rec.add("reset " + f.name)
	return nil
}

func quietOptions(sigs chan os.Signal) Options {
	return Options{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Signals:      sigs,
		Sockets:      NewSockets(),
		ReportOutput: io.Discard,
	}
}

func TestFailedStartStopsStartedServicesAndNamesTheFailure(t *testing.T) {
	rec := &recorder{}
	a, b, c := newFake("a", rec), newFake("b", rec), newFake("c", rec)
	b.startErr = errors.New("port in use")
	notify := listenNotify(t)

	err := NewServiceLauncher(quietOptions(make(chan os.Signal)), a, b, c).Run(t.Context())

	var se *StartError
	if !errors.As(err, &se) || se.Service != "b" || !strings.Contains(err.Error(), "start b: port in use") {
		t.Fatalf("err = %v, want a StartError naming b", err)
	}
	if got, want := rec.get(), []string{"start a", "start b", "stop a"}; !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if msgs := notify.drain(); slices.Contains(msgs, "READY=1") {
		t.Fatalf("READY=1 sent although start-up failed: %v", msgs)
	}
}

func TestOrderReloadAndStopWithNotifySocket(t *testing.T) {
	rec := &recorder{}
	a, b, c := newFake("a", rec), newFake("b", rec), newFake("c", rec)
	notify := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", "")
	sigs := make(chan os.Signal, 1)
	opts := quietOptions(sigs)
	reloaded := make(chan struct{}, 1)
	opts.Reload = func(context.Context) error {
		rec.add("reload")
		reloaded <- struct{}{}
		return nil
	}
	var report bytes.Buffer
	opts.ReportOutput = &report
	opts.Reporter = gmr.New(gmr.Options{})

	errc := make(chan error, 1)
	go func() { errc <- NewServiceLauncher(opts, a, b, c).Run(t.Context()) }()

	notify.expect(t, "READY=1")
	if got := rec.get(); !slices.Equal(got, []string{"start a", "start b", "start c"}) {
		t.Fatalf("READY=1 before every service started: calls = %v", got)
	}
	notify.expect(t, "WATCHDOG=1")

	sigs <- syscall.SIGHUP
	<-reloaded
	sigs <- syscall.SIGUSR2
	sigs <- syscall.SIGTERM
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "start c", "reload", "reset a", "reset b", "reset c", "stop c", "stop b", "stop a"}
	if got := rec.get(); !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	notify.expect(t, "STOPPING=1")
	if !strings.Contains(report.String(), "a: running since") || !strings.Contains(report.String(), "Goroutines") {
		t.Fatalf("SIGUSR2 report lacks the services section or stacks:\n%s", report.String())
	}
}

func TestServiceEndingOnItsOwnStopsTheOthers(t *testing.T) {
	rec := &recorder{}
	a := newFake("a", rec)
	boom := Func("crasher", func(context.Context) error { return errors.New("lost the broker") })
	err := NewServiceLauncher(quietOptions(make(chan os.Signal)), a, boom).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "service crasher ended: lost the broker") {
		t.Fatalf("err = %v", err)
	}
	if got := rec.get(); !slices.Equal(got, []string{"start a", "stop a"}) {
		t.Fatalf("calls = %v", got)
	}
}

func TestContextEndStopsAndFuncServiceStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	svc := Func("loop", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	errc := make(chan error, 1)
	go func() { errc <- NewServiceLauncher(quietOptions(make(chan os.Signal)), svc).Run(ctx) }()
	<-started
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("err = %v, want nil for a context-ended stop", err)
	}
}

// slowStop blocks in Stop until its context ends or release is closed.
type slowStop struct {
	fakeService
	release chan struct{}
	honour  bool
}

func (s *slowStop) Stop(ctx context.Context) error {
	s.rec.add("stop " + s.name)
	var ctxDone <-chan struct{}
	if s.honour {
		ctxDone = ctx.Done()
	}
	select {
	case <-s.release:
		return nil
	case <-ctxDone:
		return ctx.Err()
	}
}

func TestShutdownTimeoutNamesStillStopping(t *testing.T) {
	rec := &recorder{}
	a := newFake("a", rec)
	slow := &slowStop{fakeService: *newFake("slow", rec), release: make(chan struct{}), honour: true}
	sigs := make(chan os.Signal, 1)
	opts := quietOptions(sigs)
	opts.GracefulShutdownTimeout = 100 * time.Millisecond
	errc := make(chan error, 1)
	go func() { errc <- NewServiceLauncher(opts, a, slow).Run(t.Context()) }()
	waitCalls(t, rec, "start slow")
	sigs <- syscall.SIGTERM
	err := <-errc
	var te *ShutdownTimeoutError
	if !errors.As(err, &te) || !slices.Contains(te.Services, "slow") || te.Timeout != opts.GracefulShutdownTimeout {
		t.Fatalf("err = %v, want a ShutdownTimeoutError naming slow", err)
	}
	if ExitCode(err) == 0 {
		t.Fatal("ExitCode of a timeout is 0")
	}
}

func TestSecondSignalReturnsAtOnce(t *testing.T) {
	rec := &recorder{}
	slow := &slowStop{fakeService: *newFake("slow", rec), release: make(chan struct{})}
	defer close(slow.release) // lets the abandoned stop goroutine end
	sigs := make(chan os.Signal, 2)
	errc := make(chan error, 1)
	go func() { errc <- NewServiceLauncher(quietOptions(sigs), slow).Run(t.Context()) }()
	waitCalls(t, rec, "start slow")
	sigs <- syscall.SIGTERM
	waitCalls(t, rec, "stop slow")
	sigs <- syscall.SIGINT
	select {
	case err := <-errc:
		if !errors.Is(err, ErrSecondSignal) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a second signal did not end Run")
	}
}

func TestRunTwiceFails(t *testing.T) {
	l := NewServiceLauncher(quietOptions(make(chan os.Signal)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(ctx); err == nil {
		t.Fatal("second Run accepted")
	}
}

func waitCalls(t *testing.T, rec *recorder, call string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !slices.Contains(rec.get(), call) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never happened: %v", call, rec.get())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// notifySocket is a real unixgram socket set as NOTIFY_SOCKET.
type notifySocket struct {
	addr string
	conn *net.UnixConn
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	// Unix socket paths are short: keep it out of a long TempDir.
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", addr)
	return &notifySocket{addr: addr, conn: conn}
}

// expect reads datagrams until one equals want.
func (n *notifySocket) expect(t *testing.T, want string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 4096)
	for {
		n.conn.SetReadDeadline(deadline)
		k, err := n.conn.Read(buf)
		if err != nil {
			t.Fatalf("no %q on NOTIFY_SOCKET (got %v): %v", want, got, err)
		}
		if msg := string(buf[:k]); msg == want {
			return
		} else {
			got = append(got, msg)
		}
	}
}

// drain returns the datagrams already queued.
func (n *notifySocket) drain() []string {
	var got []string
	buf := make([]byte, 4096)
	for {
		n.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		k, err := n.conn.Read(buf)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:k]))
	}
}

// Without workers, ParentServices run as the first ordinary services:
// started first, stopped last.
func TestParentServicesRunFirstWithoutWorkers(t *testing.T) {
	rec := &recorder{}
	p, a := newFake("metrics", rec), newFake("api", rec)
	opts := quietOptions(make(chan os.Signal))
	opts.ParentServices = []Service{p}
	ctx, cancel := context.WithCancel(t.Context())
	l := New(opts, a)
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	eventually := time.Now().Add(5 * time.Second)
	for len(rec.get()) < 2 && time.Now().Before(eventually) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := rec.get(), []string{"start metrics", "start api", "stop api", "stop metrics"}; !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
}
