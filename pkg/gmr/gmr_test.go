package gmr

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReportSections(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := now
	r := New(Options{Product: "nova-test", Version: "1.2.3", Now: func() time.Time { return clock }})
	clock = now.Add(90 * time.Second)

	r.Register("Configuration", ConfigSection(func() []Setting {
		return []Setting{
			{"", "host", "compute-1"},
			{"", "transport_url", "rabbit://nova:hunter2@mq:5672/"},
			{"database", "connection", "postgresql://nova:hunter2@db/nova"},
			{"keystone_authtoken", "password", "hunter2"},
		}
	}))
	unreg := r.Register("gone", func(w io.Writer) error { _, err := io.WriteString(w, "must not appear\n"); return err })
	r.Register("compute", func(w io.Writer) error { fmt.Fprintln(w, "instances = 3"); return nil })
	r.Register("broken", func(io.Writer) error { return errors.New("db unreachable") })
	r.Register("panicky", func(io.Writer) error { panic("kaboom") })
	unreg()
	unreg()

	rep := r.String()
	for _, want := range []string{
		"Guru Meditation", "product = nova-test", "version = 1.2.3", "uptime = 1m30s",
		"[DEFAULT]\nhost = compute-1\ntransport_url = rabbit://nova:***@mq:5672/",
		"[database]\nconnection = postgresql://nova:***@db/nova",
		"[keystone_authtoken]\npassword = ***",
		"instances = 3",
		`!! section "broken" failed: db unreachable`,
		`!! section "panicky" failed: panic: kaboom`,
		"Goroutines", "goroutine ", "gmr.TestReportSections",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(rep, "hunter2") {
		t.Error("report leaks a secret")
	}
	if strings.Contains(rep, "must not appear") {
		t.Error("unregistered section still written")
	}
	// Sections keep their order: configuration, then compute, before stacks.
	ci, ki, gi := strings.Index(rep, "[database]"), strings.Index(rep, "instances = 3"), strings.Index(rep, " Goroutines ")
	if ci < 0 || ki < 0 || gi < 0 || ci >= ki || ki >= gi {
		t.Errorf("section order wrong: config@%d compute@%d goroutines@%d", ci, ki, gi)
	}
}

func TestServeHTTP(t *testing.T) {
	r := New(Options{Product: "p"})
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "product = p") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET = %d %q", resp.StatusCode, body)
	}
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST = %d", resp.StatusCode)
	}
}

func TestWriteToReportsWriterError(t *testing.T) {
	if _, err := New(Options{}).WriteTo(failWriter{}); err == nil {
		t.Fatal("WriteTo hid the writer's error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
