package rpcsvc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// onVhost runs fn on a channel of e's vhost.
func onVhost(t *testing.T, e *env, fn func(ch *amqp.Channel) error) {
	t.Helper()
	conn, err := amqp.Dial(e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := fn(ch); err != nil {
		t.Fatal(err)
	}
}

// Switching rabbit_quorum_queue on over queues a service declared classic
// (durable) on a live broker: Start fails at once, not in a loop, with
// RabbitMQ's PRECONDITION_FAILED turned into a message naming the queue,
// the argument, what gonova declares and what the broker has, the option
// to align and the way out.
func TestSwitchingQueueTypeOnALiveBrokerNamesTheWayOut(t *testing.T) {
	t.Parallel()
	e := streamEnv(t) // a vhost of its own
	classic := e.open(t, func(o *Options) { o.DurableQueues = true; o.Registerer = nil })
	s := e.server(t, classic, "host1", &testEndpoint{rec: newRecorder()})
	if err := s.Stop(bg(t)); err != nil {
		t.Fatal(err)
	}

	quorum := e.open(t, func(o *Options) { o.QuorumQueue = true; o.Registerer = nil })
	srv, err := NewServer(quorum, ServerConfig{Target: Target{Topic: e.topic, Server: "host1"}, Endpoints: []Endpoint{{Impl: &testEndpoint{rec: newRecorder()}}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = srv.Start(bg(t))
	if err == nil {
		_ = srv.Stop(bg(t))
		t.Fatal("a quorum server started on classic queues")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start took %s to fail: it retried a refusal that cannot pass", d)
	}
	msg := err.Error()
	t.Logf("Start: %s", msg)
	for _, want := range []string{
		`queue "` + e.topic + `"`, "x-queue-type", "'quorum'", "none (a classic queue)", // what was sent, what the broker has
		"rabbit_quorum_queue", "delete_queue " + e.topic + " -p " + strings.TrimPrefix(e.url[strings.LastIndex(e.url, "/"):], "/"), "new vhost",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
	if !errors.Is(err, driver.ErrPermanent) {
		t.Errorf("the error is not permanent: %v", err)
	}
}

// logCounter counts the records of a level whose message contains a text.
type logCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Level.String()+" "+r.Message]++
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }
func (l *logCounter) count(level slog.Level, contains string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, v := range l.n {
		if strings.HasPrefix(k, level.String()+" ") && strings.Contains(k, contains) {
			n += v
		}
	}
	return n
}

// A running server whose queue another service re-declared as quorum while
// the connection was down (a broker restart, a mixed deployment) does not
// crash-loop: it logs the refusal once as an error, retries quietly, and
// consumes again once the queue is fixed.
func TestRefusedRedeclarationIsLoggedOnceAndRetried(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	url, p := proxied(t, e)
	logs := &logCounter{n: map[string]int{}}
	tr := e.open(t, func(o *Options) { o.TransportURL = url; o.Logger = slog.New(logs); o.Registerer = nil })
	rec := newRecorder()
	e.server(t, tr, "host1", &testEndpoint{rec: rec})
	direct := e.open(t, func(o *Options) { o.Registerer = nil })
	cl := e.client(t, direct, ClientConfig{Target: Target{Topic: e.topic, Server: "host1"}})

	p.SetRefuse(true)
	p.CutAll()
	onVhost(t, e, func(ch *amqp.Channel) error {
		if _, err := ch.QueueDelete(e.topic+".host1", false, false, false); err != nil {
			return err
		}
		_, err := ch.QueueDeclare(e.topic+".host1", true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
		return err
	})
	p.SetRefuse(false)
	waitFor(t, 15*time.Second, "the refusal to be logged", func() bool { return logs.count(slog.LevelError, "refuses") > 0 })
	time.Sleep(11 * time.Second) // two more tries
	if n := logs.count(slog.LevelError, "refuses"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
	if n := logs.count(slog.LevelWarn, "resuming a consumer failed"); n != 0 {
		t.Errorf("%d warnings of failed resumes besides the one error", n)
	}

	// The way out: delete the queue; the server declares it again.
	onVhost(t, e, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(e.topic+".host1", false, false, false)
		return err
	})
	waitFor(t, 15*time.Second, "the server to consume again", func() bool { return logs.count(slog.LevelInfo, "accepted the declarations again") == 1 })
	if err := cl.Cast(bg(t), "record", RecordArgs{N: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the cast after the fix", func() bool { return rec.count(1) == 1 })
}

// The way out the PRECONDITION_FAILED error advises, deleting the queue,
// taken while a server consumes it: the broker cancels the consumer, and
// the server declares the queue again and goes on consuming (it does not
// fall silent).
func TestDeletedQueueIsDeclaredAgain(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	tr := e.open(t, func(o *Options) { o.Registerer = nil })
	rec := newRecorder()
	e.server(t, tr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, e.open(t, func(o *Options) { o.Registerer = nil }), ClientConfig{Target: Target{Topic: e.topic, Server: "host1"}})
	onVhost(t, e, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(e.topic+".host1", false, false, false)
		return err
	})
	// Mandatory: published again until the queue exists (UnroutableTimeout).
	if err := cl.Cast(bg(t), "record", RecordArgs{N: 7}); err != nil {
		t.Fatalf("cast after the queue was deleted: %v", err)
	}
	waitFor(t, 15*time.Second, "the cast to the re-declared queue", func() bool { return rec.count(7) == 1 })
}
