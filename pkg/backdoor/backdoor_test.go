package backdoor

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParsePort(t *testing.T) {
	good := map[string]Port{"0": {0, 0}, "8000": {8000, 8000}, " 8000:8010 ": {8000, 8010}, "9:9": {9, 9}}
	for in, want := range good {
		got, err := ParsePort(in)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":          "empty",
		"abc":       "not a number",
		"70000":     "out of range",
		"-1":        "out of range",
		"10:5":      "below its start",
		"0:10":      "cannot include port 0",
		"8000:":     "the range end is not a number",
		"8000:x":    "the range end is not a number",
		"1:2:3":     "not a number",
		"8000-8010": "not a number",
	}
	for in, why := range bad {
		_, err := ParsePort(in)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "start:end") {
			t.Errorf("ParsePort(%q) error = %v, want it to say %q and the accepted forms", in, err, why)
		}
	}
}

func TestListenRangeTakesFirstFree(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p := busy.Addr().(*net.TCPAddr).Port
	if p == 65535 {
		t.Skip("ephemeral port at the top of the range")
	}
	l, err := Listen(Port{p, p + 1})
	if err != nil {
		// p+1 may be taken by someone else on a shared machine.
		t.Skipf("port %d busy too: %v", p+1, err)
	}
	defer l.Close()
	if got := l.Addr().(*net.TCPAddr); got.Port != p+1 || !got.IP.IsLoopback() {
		t.Fatalf("bound %v, want 127.0.0.1:%d", got, p+1)
	}
	if _, err := Listen(Port{p, p}); err == nil || !strings.Contains(err.Error(), strconv.Itoa(p)) {
		t.Fatalf("a busy single port: err = %v", err)
	}
	if _, err := Listen(Port{p, p + 1}); err == nil || !strings.Contains(err.Error(), "no free port in") {
		t.Fatalf("an exhausted range: err = %v", err)
	}
}

func TestServerServesReportAndPprof(t *testing.T) {
	report := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "REPORT BODY") })
	s := New(Options{Port: Port{}, Report: report})
	ctx := t.Context()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(s.Port())
	for path, want := range map[string]string{
		"/report":                        "REPORT BODY",
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
		"/":                              "/report",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(sctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/report"); err == nil {
		t.Fatal("still serving after Stop")
	}
}

// A worker whose sibling holds the port runs on without a backdoor when the
// server is Optional, and fails start-up otherwise.
func TestOptionalServerRunsOnWhenThePortIsTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	if err := New(Options{Port: Port{port, port}}).Start(ctx); err == nil {
		t.Fatal("a required backdoor started on a taken port")
	}
	s := New(Options{Port: Port{port, port}, Optional: true})
	if err := s.Start(ctx); err != nil {
		t.Fatalf("an optional backdoor failed on a taken port: %v", err)
	}
	if s.Port() != 0 {
		t.Fatalf("Port() = %d without a listener", s.Port())
	}
	waited := make(chan error, 1)
	go func() { waited <- s.Wait(ctx) }()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait after Stop: %v", err)
	}
}

// backdoor_port's value is shown as pkg/config shows any value: a URL in it
// has its userinfo masked, and the reasons quote no part of it.
func TestParsePortErrorsShowNoSecret(t *testing.T) {
	for _, in := range []string{"rabbit://nova:Zq9pw@mq/", "1:rabbit://nova:Zq9pw@mq/"} {
		_, err := ParsePort(in)
		if err == nil || strings.Contains(err.Error(), "Zq9pw") {
			t.Errorf("ParsePort(%q) = %v", in, err)
		}
	}
}
