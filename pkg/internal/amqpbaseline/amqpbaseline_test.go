package amqpbaseline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/internal/amqpbaseline"
	"github.com/gonova/gonova/pkg/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestQuantile(t *testing.T) {
	var l amqpbaseline.Latencies
	if got := l.Quantile(0.5); got != 0 {
		t.Fatalf("empty Quantile = %v, want 0", got)
	}
	for i := 100; i >= 1; i-- { // unsorted on purpose
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	cases := map[float64]time.Duration{0.01: 1, 0.5: 50, 0.99: 99, 1: 100}
	for q, want := range cases {
		if got := l.Quantile(q); got != want*time.Millisecond {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want*time.Millisecond)
		}
	}
	if l[0] != 100*time.Millisecond {
		t.Fatal("Quantile sorted its receiver in place")
	}
	if got := amqpbaseline.Millis(1500 * time.Microsecond); got != 1.5 {
		t.Fatalf("Millis = %v, want 1.5", got)
	}
}

// declared reports whether a passive declare finds what it names on the
// test broker: false on NOT_FOUND, a test failure on any other error.
func declared(t *testing.T, what string, passive func(*amqp.Channel) error) bool {
	t.Helper()
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	err = passive(ch)
	var aerr *amqp.Error
	if errors.As(err, &aerr) && aerr.Code == amqp.NotFound {
		return false
	}
	if err != nil {
		t.Fatalf("passive declare %s: %v", what, err)
	}
	_ = ch.Close()
	return true
}

func queueExists(t *testing.T, name string) bool {
	t.Helper()
	return declared(t, "queue "+name, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
		return err
	})
}

func exchangeExists(t *testing.T, name string) bool {
	t.Helper()
	return declared(t, "exchange "+name, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclarePassive(name, "topic", false, false, false, false, nil)
	})
}

func TestThroughput(t *testing.T) {
	testenv.RequireRabbit(t)
	for _, mode := range []struct {
		confirms, prefill bool
		senders           int
		topic             bool
	}{{false, false, 0, false}, {true, false, 0, false}, {false, true, 0, false}, {true, false, 16, false}, {false, false, 0, true}, {true, false, 16, true}} {
		confirms := mode.confirms
		t.Run(fmt.Sprintf("confirms=%v,prefill=%v,senders=%d,topic=%v", mode.confirms, mode.prefill, mode.senders, mode.topic), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			q := testenv.UniqueName("amqpbaseline_test_")
			res, err := amqpbaseline.Throughput(ctx, amqpbaseline.ThroughputOptions{
				URL: testenv.RabbitURL(), Messages: 2000, Confirms: confirms,
				ConfirmWindow: 16, Queue: q, Prefill: mode.prefill, Senders: mode.senders,
				TopicExchange: mode.topic, Mandatory: mode.topic,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Messages != 2000 || res.Elapsed <= 0 || res.PublishElapsed <= 0 || res.PerSecond() <= 0 {
				t.Fatalf("implausible result %+v (%.0f msg/s)", res, res.PerSecond())
			}
			if !mode.prefill && res.PublishElapsed > res.Elapsed {
				t.Fatalf("publishing (%v) took longer than publish+consume (%v)", res.PublishElapsed, res.Elapsed)
			}
			t.Logf("%d messages in %v: %.0f msg/s", res.Messages, res.Elapsed, res.PerSecond())
			if queueExists(t, q) {
				t.Fatalf("queue %s left behind", q)
			}
			if exchangeExists(t, q+"_x") {
				t.Fatalf("exchange %s left behind", q+"_x")
			}
		})
	}
}

func TestThroughputRespectsContext(t *testing.T) {
	testenv.RequireRabbit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// Far more messages than fit in 50 ms.
	_, err := amqpbaseline.Throughput(ctx, amqpbaseline.ThroughputOptions{
		URL: testenv.RabbitURL(), Messages: 1_000_000,
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

func TestThroughputRejectsZero(t *testing.T) {
	if _, err := amqpbaseline.Throughput(context.Background(), amqpbaseline.ThroughputOptions{URL: "amqp://x"}); err == nil {
		t.Fatal("Messages = 0 accepted")
	}
	if _, err := amqpbaseline.Throughput(context.Background(), amqpbaseline.ThroughputOptions{URL: "amqp://x", Messages: 1, Senders: 4}); err == nil {
		t.Fatal("Senders without Confirms accepted")
	}
}

func TestRequestReply(t *testing.T) {
	testenv.RequireRabbit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rr, err := amqpbaseline.NewRequestReply(ctx, testenv.RabbitURL(), testenv.UniqueName("amqpbaseline_rr_test_"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rr.Close(); err != nil {
			t.Error(err)
		}
	}()

	// Concurrent callers each get their own reply back.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				body := fmt.Appendf(nil, "caller %d call %d", i, j)
				got, err := rr.Call(ctx, body)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, body) {
					errs <- fmt.Errorf("sent %q, got %q", body, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	lat, err := rr.RoundTrips(ctx, 100, 10, 128)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 100 || lat.Quantile(0.5) <= 0 || lat.Quantile(0.99) < lat.Quantile(0.5) {
		t.Fatalf("implausible latencies: n=%d p50=%v p99=%v", len(lat), lat.Quantile(0.5), lat.Quantile(0.99))
	}
	t.Logf("round trip p50 %v p99 %v", lat.Quantile(0.5), lat.Quantile(0.99))

	// A call whose context ends first returns the context's error.
	short, cancelShort := context.WithTimeout(ctx, time.Nanosecond)
	defer cancelShort()
	<-short.Done()
	if _, err := rr.Call(short, []byte("late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired call: err = %v, want deadline exceeded", err)
	}
}
