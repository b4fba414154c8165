package rpcsvc

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/tcpproxy"
	"github.com/gonova/gonova/pkg/testenv"
)

// streamEnv is an env on a vhost of its own with rabbit_stream_fanout (and
// the options oslo requires with it).
func streamEnv(t *testing.T) *env {
	t.Helper()
	return &env{kind: "rabbit", url: testenv.RabbitVhost(t), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_"), reg: prometheus.NewPedanticRegistry()}
}

func streamOpts(o *Options) {
	o.QuorumQueue, o.TransientQuorumQueue, o.StreamFanout, o.QosPrefetchCount = true, true, true, 10
	o.Registerer = nil
}

// proxied is e's URL through a fault proxy of its own.
func proxied(t *testing.T, e *env) (string, *tcpproxy.Proxy) {
	t.Helper()
	rest := strings.TrimPrefix(e.url, "amqp://guest:guest@")
	hostport, vhost, _ := strings.Cut(rest, "/")
	p := tcpproxy.Start(t, hostport)
	return "amqp://guest:guest@" + p.Addr() + "/" + vhost, p
}

// With rabbit_stream_fanout every server reads the one `<topic>_fanout`
// stream: a fanout cast reaches each server once; a server cut off during
// and between casts resumes where it was, without losing or repeating a
// cast; a server that starts later does not get the casts sent before it.
func TestStreamFanoutReachesEveryServerAndResumes(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	urlA, pA := proxied(t, e)
	trA := e.open(t, streamOpts, func(o *Options) { o.TransportURL = urlA })
	trB := e.open(t, streamOpts)
	recA, recB := newRecorder(), newRecorder()
	sA := e.server(t, trA, "hostA", &testEndpoint{rec: recA, name: "A"})
	e.server(t, trB, "hostB", &testEndpoint{rec: recB, name: "B"})
	if q := sA.Queues()[2]; q != e.topic+"_fanout" {
		t.Fatalf("fanout queue %q, want the shared stream %s_fanout", q, e.topic)
	}
	cl := e.client(t, e.open(t, streamOpts), ClientConfig{Target: Target{Topic: e.topic, Fanout: true}})
	cast := func(from, to int, cutAt int) {
		t.Helper()
		for i := from; i < to; i++ {
			if i == cutAt {
				pA.CutAll()
			}
			if err := cl.Cast(bg(t), "record", RecordArgs{N: i}); err != nil {
				t.Fatalf("fanout cast %d: %v", i, err)
			}
		}
	}
	everyOnce := func(rec *recorder, name string, to int) {
		t.Helper()
		waitFor(t, 30*time.Second, "server "+name+" to get casts 0.."+strconv.Itoa(to-1), func() bool {
			for i := 0; i < to; i++ {
				if rec.count(i) == 0 {
					return false
				}
			}
			return true
		})
		time.Sleep(300 * time.Millisecond) // a repeat would show now
		for i := 0; i < to; i++ {
			if c := rec.count(i); c != 1 {
				t.Errorf("server %s handled cast %d %d times", name, i, c)
			}
		}
		if n := rec.total(); n != to {
			t.Errorf("server %s handled %d casts, want %d", name, n, to)
		}
	}

	cast(0, 50, -1)
	everyOnce(recA, "A", 50)
	everyOnce(recB, "B", 50)

	// Cut A in the middle of a run of casts, then keep it away while more
	// are sent: on reconnect it reads on from where it stopped.
	pA.SetRefuse(true)
	cast(50, 100, 60)
	time.Sleep(500 * time.Millisecond)
	pA.SetRefuse(false)
	everyOnce(recA, "A", 100)
	// And a cut while A is reading, the casts already in the stream.
	cast(100, 120, -1)
	pA.CutAll()
	cast(120, 125, -1)
	everyOnce(recA, "A", 125)
	everyOnce(recB, "B", 125)
	if pA.Cut() < 2 {
		t.Fatalf("the proxy cut %d connections of A, want >= 2", pA.Cut())
	}

	// A late server starts at the end of the stream.
	recC := newRecorder()
	e.server(t, e.open(t, streamOpts), "hostC", &testEndpoint{rec: recC, name: "C"})
	cast(125, 130, -1)
	waitFor(t, 30*time.Second, "server C to get casts 125..129", func() bool { return recC.total() >= 5 })
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 125; i++ {
		if recC.count(i) != 0 {
			t.Fatalf("server C, started after cast %d was sent, handled it", i)
		}
	}
	if recC.total() != 5 {
		t.Fatalf("server C handled %d casts, want 5", recC.total())
	}
}

// A handler that panics or fails retryably on a stream delivery does not
// nack it: RabbitMQ answers a nack on a stream with NOT_IMPLEMENTED, which
// closes the connection. The server stays connected and handles the next
// casts; the failed one is not replayed.
func TestStreamFanoutFailingHandlerKeepsTheConnection(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	srvTr := e.open(t, streamOpts, func(o *Options) { o.Registerer = e.reg })
	rec := newRecorder()
	e.server(t, srvTr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, e.open(t, streamOpts), ClientConfig{Target: Target{Topic: e.topic, Fanout: true}})
	if err := cl.Cast(bg(t), "poison", RecordArgs{N: 1}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Cast(bg(t), "fail", FailArgs{Retryable: true}); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		if err := cl.Cast(bg(t), "record", RecordArgs{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the casts after the failures", func() bool { return rec.count(19) == 1 })
	time.Sleep(300 * time.Millisecond)
	if v := testutil.ToFloat64(srvTr.metrics.reconnects); v != 0 {
		t.Fatalf("the server reconnected %v times: a nack closed its connection", v)
	}
	if c := rec.count(1); c != 1 {
		t.Fatalf("the poison cast ran %d times, want once", c)
	}
}

// A fanout stream deleted while servers read it (oslo's own close deletes
// it in older releases) is declared again by the servers, which read the
// new stream from its start: its offsets begin at 0 again.
func TestStreamDeletedIsReadAgain(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	rec := newRecorder()
	e.server(t, e.open(t, streamOpts), "host1", &testEndpoint{rec: rec})
	cl := e.client(t, e.open(t, streamOpts), ClientConfig{Target: Target{Topic: e.topic, Fanout: true}})
	for i := 0; i < 5; i++ {
		if err := cl.Cast(bg(t), "record", RecordArgs{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the first casts", func() bool { return rec.total() == 5 })
	onVhost(t, e, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(e.topic+"_fanout", false, false, false)
		return err
	})
	waitFor(t, 15*time.Second, "the stream to be declared again", func() bool {
		for _, q := range testenv.RabbitQueues(t, testenv.VhostOf(t, e.url)) {
			if q.Name == e.topic+"_fanout" && q.Type == "stream" {
				return true
			}
		}
		return false
	})
	for i := 5; i < 8; i++ {
		if err := cl.Cast(bg(t), "record", RecordArgs{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the casts to the new stream", func() bool { return rec.total() == 8 })
}
