package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/testenv/rabbitcluster"
	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// Bounds, with margin over what this 2-core machine measures (see the
// test log): failover is about two kombu_reconnect_delay waits plus a
// quorum leader election and re-declaring the consumers.
const (
	resumeBound = 10 * time.Second // calls succeed again after a node stops
	handleBound = 60 * time.Second // every confirmed cast handled after the stream
)

func logger() *slog.Logger {
	if os.Getenv("GONOVA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// rotate lists the cluster's transport_url with the hosts starting at the
// i-th node, so that two services first connect to different nodes.
func rotate(c *rabbitcluster.Cluster, vhost string, i int) string {
	u := c.TransportURL(vhost)
	rest := strings.TrimPrefix(u, "rabbit://")
	hosts, path, _ := strings.Cut(rest, "/")
	hs := strings.Split(hosts, ",")
	hs = append(hs[i:], hs[:i]...)
	return "rabbit://" + strings.Join(hs, ",") + "/" + path
}

func open(t *testing.T, url, exchange string, reg prometheus.Registerer) *rpcsvc.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{
		TransportURL:              url,
		ControlExchange:           exchange,
		QuorumQueue:               true,
		EnableCancelOnFailover:    true,
		ExecutorThreadPoolSize:    16,
		HeartbeatTimeoutThreshold: 10 * time.Second,
		Logger:                    logger(),
		Registerer:                reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr
}

func serve(t *testing.T, tr *rpcsvc.Transport, topic, host string, impl any) {
	t.Helper()
	s, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{
		Target:    rpcsvc.Target{Topic: topic, Server: host},
		Endpoints: []rpcsvc.Endpoint{{Version: "1.0", Impl: impl}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
}

// TestSerialCluster starts a 3-node cluster once and runs, on a vhost each:
// the leader of the compute queue stopped during a stream of casts and
// calls; the node restarted (it rejoins) and the new leader stopped; and
// Python oslo.messaging 14.0.3 sharing the quorum queues with gonova.
func TestSerialCluster(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("starts and stops a 3-node RabbitMQ cluster: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	began := time.Now()
	c := rabbitcluster.Start(t, rabbitcluster.Options{})
	t.Cleanup(func() { t.Logf("the cluster suite took %s", time.Since(began).Round(time.Second)) })

	var stopped *rabbitnode.Node
	t.Run("leader stopped", func(t *testing.T) {
		stopped = leaderFailover(t, c, "failover1", nil)
	})
	t.Run("node restarted then new leader stopped", func(t *testing.T) {
		if stopped == nil {
			t.Skip("the first failover did not run")
		}
		leaderFailover(t, c, "failover2", stopped)
	})
	t.Run("python shares the quorum queues", func(t *testing.T) {
		pythonShares(t, c)
	})
}

// leaderFailover streams casts and calls to the compute topic (quorum
// queues, all three nodes in transport_url; the server first connects to
// the first node, the client to the second), restarts the node restart
// (when given) during the stream, then stops the node leading the compute
// queue. Every confirmed cast must be handled exactly once, calls must
// succeed again within resumeBound. It returns the node stopped, left
// stopped.
func leaderFailover(t *testing.T, c *rabbitcluster.Cluster, vhost string, restart *rabbitnode.Node) *rabbitnode.Node {
	c.AddVhost(t, vhost)
	exchange := "nova"
	ep := &counter{handled: map[int]int{}}
	reg := prometheus.NewRegistry()
	serve(t, open(t, rotate(c, vhost, 0), exchange, reg), "compute", "host1", ep)
	cl, err := rpcsvc.NewClient(open(t, rotate(c, vhost, 1), exchange, nil), rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: "compute", Version: "1.0"}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := startStream(cl, 4, 10*time.Millisecond)
	defer s.end()
	time.Sleep(2 * time.Second)
	if s.confirmed() == 0 {
		t.Fatal("no cast confirmed before the fault")
	}
	if restart != nil {
		at := time.Now()
		if err := restart.StartErr(); err != nil {
			t.Fatal(err)
		}
		c.WaitRunning(t, 3, 60*time.Second)
		t.Logf("%s restarted and rejoined in %s", restart.Name, time.Since(at).Round(time.Millisecond))
		if n, failed, errs := s.callsAfter(at); failed > 0 {
			t.Logf("while the node rejoined: %d of %d calls failed: %v", failed, n, errs)
		}
		time.Sleep(time.Second)
	}
	leader := c.QueueLeader(t, vhost, "compute")
	t.Logf("compute is led by %s; stopping it", leader.Name)
	stopAt := time.Now()
	leader.Stop(t)
	downAt := time.Now()
	t.Logf("%s stopped in %s", leader.Name, downAt.Sub(stopAt).Round(time.Millisecond))
	// Calls must come back; then a few more seconds of stream.
	deadline := downAt.Add(resumeBound + 10*time.Second)
	for !s.succeededAfter(downAt) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	newLeader := c.QueueLeader(t, vhost, "compute")
	time.Sleep(3 * time.Second)
	s.end()
	outage := s.outage(stopAt, time.Now())
	if !s.succeededAfter(downAt) || outage > resumeBound {
		t.Errorf("calls stopped for %s (succeeded after the node was down: %v), want at most %s", outage, s.succeededAfter(downAt), resumeBound)
	}
	n, failedCalls, errs := s.callsAfter(stopAt)
	confirmed, failedCasts, dups := s.check(t, ep, handleBound)
	t.Logf("longest time without a successful call: %s; new leader %s; casts: %d confirmed (every one handled exactly once: %v), %d returned an error, %d handled twice, %d redeliveries dropped as duplicates, server reconnects %d; calls since the stop: %d, %d failed %v",
		outage.Round(time.Millisecond), newLeader.Name, confirmed, !t.Failed(), failedCasts, dups,
		int(metric(t, reg, "gonova_rpc_messages_handled_total", "outcome", "duplicate")), int(metric(t, reg, "gonova_rpc_reconnects_total", "", "")), n, failedCalls, errs)
	return leader
}

// pythonShares runs testdata/pyquorum.py (oslo.messaging 14.0.3,
// rabbit_quorum_queue = true) and a gonova server on the same topic: both
// declare the quorum queue `topic` (and the durable exchange) without a
// PRECONDITION_FAILED, gonova calls the Python server and the Python client
// calls gonova's, and calls to the shared queue are served.
func pythonShares(t *testing.T, c *rabbitcluster.Cluster) {
	testenv.RequirePythonOslo(t)
	// The node the second failover stopped stays down: two of three
	// members are a quorum, and both clients skip the dead host of
	// transport_url.
	vhost := "python"
	c.AddVhost(t, vhost)
	exchange, topic := "nova", "compute"
	ep := &counter{handled: map[int]int{}}
	tr := open(t, rotate(c, vhost, 2), exchange, nil)
	serve(t, tr, topic, "gohost", ep)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.PythonPath, filepath.Join("testdata", "pyquorum.py"),
		"--url", c.TransportURL(vhost), "--exchange", exchange, "--topic", topic, "--server", "pyhost")
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("pyquorum.py: %v\n%s", err, stderr.String())
		}
	}()
	lines := make(chan map[string]any, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var v any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				continue
			}
			switch v := v.(type) {
			case string:
				lines <- map[string]any{"event": v}
			case map[string]any:
				lines <- v
			}
		}
	}()
	next := func(event string) map[string]any {
		t.Helper()
		timeout := time.After(90 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("pyquorum.py ended before %q:\n%s", event, stderr.String())
				}
				if l["event"] == event {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q from pyquorum.py:\n%s", event, stderr.String())
			}
		}
	}
	next("READY")

	// Both sides declared `compute` as a durable quorum queue (and their
	// own `compute.<host>`).
	out := c.Running(t).Ctl(t, "list_queues", "-p", vhost, "--quiet", "--no-table-headers", "name", "type", "durable")
	for _, q := range []string{"compute", "compute.pyhost", "compute.gohost"} {
		if !strings.Contains("\n"+out, "\n"+q+"\tquorum\ttrue\n") {
			t.Errorf("%s is not a durable quorum queue:\n%s", q, out)
		}
	}

	cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: topic, Version: "1.0"}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		var got int
		if err := cl.Prepare(rpcsvc.CallOptions{Server: "pyhost"}).Call(context.Background(), "echo", EchoArgs{N: i}, &got); err != nil || got != i {
			t.Fatalf("gonova -> python call %d: %d, %v", i, got, err)
		}
	}
	if _, err := io.WriteString(stdin, "call gohost 20\ncall - 20\n"); err != nil {
		t.Fatal(err)
	}
	for _, which := range []string{"gohost", "shared queue"} {
		r := next("calls")
		if r["ok"] != float64(n) {
			t.Errorf("python -> gonova calls (%s): %v ok, errors %v", which, r["ok"], r["errors"])
		}
	}
	t.Logf("gonova and python 14.0.3 share the quorum queues: %d calls each way, %d more on the shared queue", n, n)
}

// metric sums the samples of metric name in reg whose label is value
// (label "": all).
func metric(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
		}
	}
	return sum
}
