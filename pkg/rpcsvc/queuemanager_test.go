package rpcsvc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/qmanager"
	"github.com/gonova/gonova/pkg/testenv"
)

// qmChild is set in the environment of the process TestQueueManager starts.
const qmChild = "GONOVA_TEST_QMANAGER_CHILD"

// TestQueueManagerChild is the service TestQueueManagerNamesSurviveRestarts
// restarts: it runs only as that test's child, in a process group of its
// own, opens a transport with use_queue_manager, starts a server, calls it
// and prints its fanout and reply queue names.
func TestQueueManagerChild(t *testing.T) {
	spec := os.Getenv(qmChild)
	if spec == "" {
		t.Skip("the child of TestQueueManagerNamesSurviveRestarts")
	}
	var url, host, topic string
	if _, err := fmt.Sscan(spec, &url, &host, &topic); err != nil {
		t.Fatal(err)
	}
	e := &env{kind: "rabbit", url: url, exchange: "qm_x", topic: topic, reg: prometheus.NewPedanticRegistry()}
	tr := e.open(t, func(o *Options) { o.UseQueueManager, o.Hostname, o.ProcessName = true, host, "qmtest" })
	s := e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
	var out map[string]any
	if err := e.client(t, tr, ClientConfig{}).Call(bg(t), "echo", map[string]any{"x": 1}, &out); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("QUEUES %s %s\n", s.Queues()[2], tr.replyQ)
}

// With use_queue_manager a service that restarts gets the queue names of
// its previous run (oslo's QManager: `<hostname>:<processname>:<n>`, n
// counted per process group in /dev/shm), so it consumes the queues it
// left; two servers of one process get distinct names.
func TestQueueManagerNamesSurviveRestarts(t *testing.T) {
	t.Parallel()
	url := testenv.RabbitVhost(t)
	host := testenv.UniqueName("qmhost")
	t.Cleanup(func() { _ = os.Remove(filepath.Join(qmanager.Dir, host+"_qmtest_qmanager")) })
	topic := testenv.UniqueName("qm_t_")
	run := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestQueueManagerChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), qmChild+"="+url+" "+host+" "+topic)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a new service: a new process group
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("child: %v\n%s", err, out.String())
		}
		m := regexp.MustCompile(`QUEUES (\S+) (\S+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("child printed no queues:\n%s", out.String())
		}
		return m[1] + " " + m[2]
	}
	first := run()
	want := fmt.Sprintf("%s_fanout_%s:qmtest:1 reply_%s:qmtest:2", topic, host, host)
	if first != want {
		t.Fatalf("queues %q, want %q", first, want)
	}
	if again := run(); again != first {
		t.Fatalf("after a restart: %q, want %q", again, first)
	}
	// The broker holds the one reply queue and the one fanout queue of both
	// runs.
	var names []string
	for _, q := range testenv.RabbitQueues(t, testenv.VhostOf(t, url)) {
		if strings.Contains(q.Name, host) {
			names = append(names, q.Name)
		}
	}
	if len(names) != 2 {
		t.Fatalf("queues of the service on the broker: %v, want its two", names)
	}

	// In one process, each server and reply queue gets a name of its own.
	e := &env{kind: "rabbit", url: url, exchange: "qm_x", topic: topic, reg: prometheus.NewPedanticRegistry()}
	tr := e.open(t, func(o *Options) {
		o.UseQueueManager, o.Hostname, o.ProcessName = true, host, "qmtest"
		o.Registerer = nil
	})
	a, err := NewServer(tr, ServerConfig{Target: Target{Topic: topic, Server: "a"}, Endpoints: []Endpoint{{Impl: &testEndpoint{rec: newRecorder()}}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewServer(tr, ServerConfig{Target: Target{Topic: topic, Server: "b"}, Endpoints: []Endpoint{{Impl: &testEndpoint{rec: newRecorder()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Queues()[2] == b.Queues()[2] {
		t.Fatalf("two servers share the fanout queue %s", a.Queues()[2])
	}
}

// A stopped server deletes its randomly named fanout queue, as oslo does
// when a connection closes; its topic queues stay.
func TestStoppedServerDeletesItsRandomFanoutQueue(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	vhost := testenv.VhostOf(t, e.url)
	tr := e.open(t, func(o *Options) { o.Registerer = nil })
	s := e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
	fanout := s.Queues()[2]
	names := func() map[string]bool {
		m := map[string]bool{}
		for _, q := range testenv.RabbitQueues(t, vhost) {
			m[q.Name] = true
		}
		return m
	}
	if !names()[fanout] {
		t.Fatalf("no queue %s while the server runs", fanout)
	}
	if err := s.Stop(bg(t)); err != nil {
		t.Fatal(err)
	}
	got := names()
	if got[fanout] {
		t.Errorf("the fanout queue %s outlived its server", fanout)
	}
	if !got[e.topic] || !got[e.topic+".host1"] {
		t.Errorf("the topic queues are gone: %v", got)
	}
}
