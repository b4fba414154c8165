package rpcsvc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// restartableBroker starts a RabbitMQ node of the test's own, for a test
// that stops its broker: the shared broker holds what every other test left
// on it, and a restart of it is at the mercy of that. ctl runs rabbitmqctl
// on the node, logs how long the step took, and returns its failure with its
// output, so that a test with casts still in flight can stop them before it
// fails (a t.Fatal would close the transport under them and hide the real
// error behind theirs).
func restartableBroker(t *testing.T) (node *rabbitnode.Node, ctl func(args ...string) error) {
	t.Helper()
	node = rabbitnode.Start(t, rabbitnode.Options{})
	return node, func(args ...string) error {
		began := time.Now()
		_, err := node.CtlErr(90*time.Second, args...)
		took := time.Since(began).Round(time.Millisecond)
		if err != nil {
			return fmt.Errorf("after %s: %w", took, err)
		}
		t.Logf("rabbitmqctl %v took %s", args, took)
		return nil
	}
}

// TestSerialBrokerRestart restarts the broker (stop_app / start_app, on a
// node of its own): servers resume consuming and clients resume publishing
// without a new Transport, and a call in flight fails with a clear error. It
// runs only with GONOVA_SERIAL_FAULTS=1 (make test-serial), alone.
func TestSerialBrokerRestart(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("restarts the shared broker: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	node, ctl := restartableBroker(t)
	rabbitctl := func(args ...string) {
		t.Helper()
		if err := ctl(args...); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{kind: "rabbit", url: node.URL(), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_")}
	tr := e.open(t, func(o *Options) { o.Registerer = nil })
	rec := newRecorder()
	e.server(t, tr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, tr, ClientConfig{Timeout: 60 * time.Second})
	ctx := bg(t)
	if err := cl.Cast(ctx, "record", RecordArgs{N: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the cast before the restart", func() bool { return rec.count(1) == 1 })

	inflight := make(chan error, 1)
	go func() { inflight <- cl.Call(context.Background(), "sleep", SleepArgs{Millis: 5000}, nil) }()
	time.Sleep(300 * time.Millisecond)

	rabbitctl("stop_app")
	select {
	case err := <-inflight:
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("call in flight during the restart: %v, want ErrConnectionLost", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("a call in flight hung while the broker was down")
	}
	rabbitctl("start_app")
	rabbitctl("await_startup")
	waitFor(t, 60*time.Second, "the broker port", func() bool {
		c, err := net.DialTimeout("tcp", node.Addr(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})

	// Transient queues died with the broker: a cast is routable again once
	// the server has re-declared its queue (as with oslo, a cast to a topic
	// without a queue is dropped by the broker).
	waitFor(t, 60*time.Second, "the server to re-declare its queue", func() bool {
		conn, err := amqp.Dial(node.URL())
		if err != nil {
			return false
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return false
		}
		defer ch.Close()
		_, err = ch.QueueDeclarePassive(e.topic, false, false, false, false, nil)
		return err == nil
	})
	castCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.Cast(castCtx, "record", RecordArgs{N: 2}); err != nil {
		t.Fatalf("cast after the restart: %v", err)
	}
	waitFor(t, 60*time.Second, "the cast after the restart", func() bool { return rec.count(2) == 1 })
	var out EchoArgs
	if err := cl.Prepare(CallOptions{Timeout: 10 * time.Second}).Call(castCtx, "echo", EchoArgs{Value: 3}, &out); err != nil || out.Value != 3 {
		t.Fatalf("call after the restart: %v", err)
	}
}

// TestSerialBrokerRestartDuringCastStream restarts the broker (a node of its
// own) while a client casts a numbered stream: with durable queues (amqp_durable_queues),
// every cast that Cast reported as sent (confirmed by the broker) is handled
// exactly once, whether it was published before, during or after the
// restart. Casts issued while the broker is down wait and go through once it
// is back. Runs only with GONOVA_SERIAL_FAULTS=1, alone.
func TestSerialBrokerRestartDuringCastStream(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("restarts the shared broker: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	node, ctl := restartableBroker(t)
	e := &env{kind: "rabbit", url: node.URL(), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_")}
	tr := e.open(t, func(o *Options) { o.Registerer = nil; o.DurableQueues = true })
	rec := newRecorder()
	e.server(t, tr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, tr, ClientConfig{Timeout: 60 * time.Second})

	const total = 300
	sent := make([]bool, total)
	stream := make(chan struct{})
	restartAt := make(chan struct{})
	// abort ends the stream when the restart itself failed: the casts
	// would otherwise wait out their deadlines on a stopped broker.
	abort, abortStream := context.WithCancel(context.Background())
	defer abortStream()
	go func() {
		defer close(stream)
		for i := 0; i < total && abort.Err() == nil; i++ {
			if i == total/3 {
				close(restartAt)
			}
			ctx, cancel := context.WithTimeout(abort, 90*time.Second)
			err := cl.Cast(ctx, "record", RecordArgs{N: i})
			cancel()
			sent[i] = err == nil
			if err != nil && abort.Err() == nil {
				t.Logf("cast %d: %v", i, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	<-restartAt
	restart := func() error {
		if err := ctl("stop_app"); err != nil {
			return err
		}
		time.Sleep(time.Second)
		if err := ctl("start_app"); err != nil {
			return err
		}
		return ctl("await_startup")
	}
	if err := restart(); err != nil {
		abortStream()
		<-stream
		t.Fatalf("restarting the broker (not a gonova failure; the casts were stopped): %v", err)
	}
	<-stream

	for i, ok := range sent {
		if !ok {
			t.Errorf("cast %d was not sent: a broker restart must delay casts, not fail them", i)
		}
	}
	waitFor(t, 60*time.Second, "every sent cast to be handled", func() bool {
		for i, ok := range sent {
			if ok && rec.count(i) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // let any duplicate show itself
	for i := range sent {
		if n := rec.count(i); n > 1 {
			t.Errorf("cast %d handled %d times", i, n)
		}
	}
}
