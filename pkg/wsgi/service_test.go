package wsgi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestService(t *testing.T, h http.Handler, mod func(*Options)) *Service {
	t.Helper()
	o := Options{Name: "test", Host: "127.0.0.1", Port: -1, Handler: h, Logger: quiet}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stop(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	_ = s.Wait(context.Background())
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func TestNewValidates(t *testing.T) {
	h := http.NotFoundHandler()
	for _, o := range []Options{{Handler: h}, {Name: "x"}, {Name: "x", Handler: h, Port: 70000}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	s, err := New(Options{Name: "osapi_compute", Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "osapi_compute" || s.opts.Host != "0.0.0.0" || s.opts.Port != 8774 ||
		s.opts.MaxRequestBodySize != 114688 || s.opts.ReadHeaderTimeout != DefaultReadHeaderTimeout ||
		s.opts.IdleTimeout != 900*time.Second {
		t.Errorf("defaults: %+v", s.opts)
	}
}

func TestStartServesAndPortInUseIsAnError(t *testing.T) {
	s := newTestService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "pong")
	}), nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, s)
	// Start returned: the port is bound, no retry needed.
	resp, err := client().Get("http://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pong" {
		t.Errorf("body %q", body)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}

	port := s.Addr().(*net.TCPAddr).Port
	hooked := false
	s2 := newTestService(t, http.NotFoundHandler(), func(o *Options) {
		o.Port = port
		o.OnStarted = func(context.Context) error { hooked = true; return nil }
	})
	err = s2.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen on 127.0.0.1:") {
		t.Fatalf("Start on a port in use: %v", err)
	}
	if hooked {
		t.Error("OnStarted ran although the bind failed")
	}
	_ = s2.Wait(context.Background()) // never started: returns at once
	if err := s2.Stop(context.Background()); err != nil {
		t.Errorf("Stop of an unstarted service: %v", err)
	}
}

func TestInjectedListen(t *testing.T) {
	var gotNetwork, gotAddr string
	s := newTestService(t, http.NotFoundHandler(), func(o *Options) {
		o.Host, o.Port = "192.0.2.1", 8774
		o.Listen = func(network, addr string) (net.Listener, error) {
			gotNetwork, gotAddr = network, addr
			return net.Listen("tcp", "127.0.0.1:0")
		}
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, s)
	if gotNetwork != "tcp" || gotAddr != "192.0.2.1:8774" {
		t.Errorf("Listen(%q, %q)", gotNetwork, gotAddr)
	}
}

func TestOnStartedFailureUndoesStart(t *testing.T) {
	s := newTestService(t, http.NotFoundHandler(), func(o *Options) {
		o.OnStarted = func(context.Context) error { return errors.New("no database") }
	})
	err := s.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("Start: %v", err)
	}
	// The port is released.
	l, err := net.Listen("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("port still held: %v", err)
	}
	l.Close()
	_ = s.Wait(context.Background())
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop after a failed start: %v", err)
	}
}

func TestGracefulStopLetsInFlightFinishAndRefusesNew(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s := newTestService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}), nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := client().Get("http://" + addr + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()

	// New connections are refused while the slow request is in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after Stop began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) before the in-flight request finished", err)
	default:
	}

	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
	_ = s.Wait(context.Background())
	if s.Err() != nil {
		t.Errorf("Err: %v", s.Err())
	}
}

func TestStopDeadlineForcesClose(t *testing.T) {
	entered := make(chan struct{})
	var cancelled atomic.Bool
	s := newTestService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // a handler that only ends when told to
		cancelled.Store(true)
	}), nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	clientErr := make(chan error, 1)
	go func() {
		resp, err := client().Get("http://" + s.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %v", d)
	}
	_ = s.Wait(context.Background()) // returns only once the handler has returned
	if !cancelled.Load() {
		t.Error("Wait returned before the handler's context was cancelled and it returned")
	}
	if err := <-clientErr; err == nil {
		t.Error("client of a force-closed connection saw success")
	}
	if err2 := s.Stop(context.Background()); !errors.Is(err2, context.DeadlineExceeded) {
		t.Errorf("second Stop = %v, want the first Stop's result", err2)
	}
}

func TestBodyLimitGives413(t *testing.T) {
	s := newTestService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := DecodeJSON(r, &v, DecodeOptions{}); err != nil {
			fault.Write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}), func(o *Options) { o.MaxRequestBodySize = 64 })
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, s)
	url := "http://" + s.Addr().String() + "/"

	small := `{"a": 1}`
	resp, err := client().Post(url, "application/json", strings.NewReader(small))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("small body: %d", resp.StatusCode)
	}

	big := fmt.Sprintf(`{"a": %q}`, strings.Repeat("x", 200))
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		resp, err := client().Post(url, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b, perr := fault.Parse(data)
		if resp.StatusCode != 413 || perr != nil || b.Name != "overLimit" ||
			b.Message != "Request is too large. Larger than max_request_body_size (64)." {
			t.Errorf("chunked=%v: %d %s", chunked, resp.StatusCode, data)
		}
	}
}

func TestReadHeaderTimeout(t *testing.T) {
	s := newTestService(t, http.NotFoundHandler(), func(o *Options) { o.ReadHeaderTimeout = 100 * time.Millisecond })
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, s)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // headers never end
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = bufio.NewReader(c).ReadString('\n')
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("server kept a slow-header connection open for 5 s")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}

func TestReset(t *testing.T) {
	calls := 0
	s := newTestService(t, http.NotFoundHandler(), func(o *Options) {
		o.OnReset = func(context.Context) error {
			calls++
			if calls > 1 {
				return errors.New("bad policy file")
			}
			return nil
		}
	})
	if err := s.Reset(context.Background()); err != nil || calls != 1 {
		t.Fatalf("Reset: %v, calls %d", err, calls)
	}
	if err := s.Reset(context.Background()); err == nil || !strings.Contains(err.Error(), "bad policy file") {
		t.Fatalf("Reset error: %v", err)
	}
	s2 := newTestService(t, http.NotFoundHandler(), nil)
	if err := s2.Reset(context.Background()); err != nil {
		t.Fatalf("Reset without hook: %v", err)
	}
}

// Bind opens the port before Start (the launcher binds every service before
// starting any): a port in use fails Bind, and Start serves on the bound
// listener. Wait honours its context while the service runs.
func TestBindBeforeStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	clash := newTestService(t, http.NotFoundHandler(), func(o *Options) { o.Port = port })
	if err := clash.Bind(context.Background()); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("Bind on a busy port: %v", err)
	}

	s := newTestService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hi") }), nil)
	if err := s.Bind(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Addr().String() != addr {
		t.Fatalf("Start moved from the bound %s to %s", addr, s.Addr())
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait while running = %v", err)
	}
	stop(t, s)
	if err := s.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after Stop = %v", err)
	}

	// Bind then Stop without Start releases the port.
	s2 := newTestService(t, http.NotFoundHandler(), nil)
	if err := s2.Bind(context.Background()); err != nil {
		t.Fatal(err)
	}
	a2 := s2.Addr().String()
	if err := s2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", a2)
	if err != nil {
		t.Fatalf("port %s still held after Stop: %v", a2, err)
	}
	l.Close()
}

// A Wait given up by its context must not leave a goroutine behind, in every
// stage it can wait in: while serving, and after Stop while a handler that
// ignores its context still runs. The launcher calls Wait once per service,
// but a caller polling with short contexts would otherwise leak one per call.
func TestWaitWithCancelledContextsLeavesNoGoroutine(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := newTestService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release // ignores its context: keeps running after Stop gave up
	}), nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	waitMany := func(stage string) {
		t.Helper()
		ignore := goleak.IgnoreCurrent()
		for range 1000 {
			if err := s.Wait(cancelled); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: Wait(cancelled) = %v, want context.Canceled", stage, err)
			}
		}
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			err := s.Wait(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: Wait(short deadline) = %v, want context.DeadlineExceeded", stage, err)
			}
		}
		goleak.VerifyNone(t, ignore)
	}

	waitMany("serving")

	clientErr := make(chan error, 1)
	go func() {
		resp, err := client().Get("http://" + s.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-entered
	ctx, cancelStop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelStop()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want DeadlineExceeded", err)
	}
	waitMany("stopped, a handler still running")

	close(release)
	if err := s.Wait(context.Background()); err != nil {
		t.Fatalf("Wait once the handler returned = %v", err)
	}
	<-clientErr
}
