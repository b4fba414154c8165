package amqpdriver

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/testenv"
)

func openShared(t testing.TB) *Driver {
	t.Helper()
	testenv.RequireRabbit(t)
	u, err := ParseURL(strings.Replace(testenv.RabbitURL(), "amqp://", "rabbit://", 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, Config{URL: u, TransientTTL: time.Minute, PublishChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// declareQueue declares a queue on the default exchange for the test and
// deletes it at cleanup.
func declareTestQueue(t testing.TB, name string) {
	t.Helper()
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(name, false, false, false)
		_ = conn.Close()
	})
}

// On the real broker, a Mandatory publish to a queue that does not exist
// fails with *driver.UnroutableError, one to a queue that does succeeds,
// and a publish that is not Mandatory to nowhere is confirmed, as before;
// concurrent publishers on shared channels each get their own answer.
func TestMandatoryReturnsReachTheirPublisher(t *testing.T) {
	d := openShared(t)
	there := testenv.UniqueName("amqpdriver_there_")
	declareTestQueue(t, there)
	nowhere := testenv.UniqueName("amqpdriver_nowhere_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var ue *driver.UnroutableError
	err := d.Publish(ctx, driver.Publishing{RoutingKey: nowhere, Body: []byte(`{}`), Mandatory: true})
	if !errors.As(err, &ue) || !errors.Is(err, driver.ErrUnroutable) || ue.RoutingKey != nowhere || ue.Reason != "NO_ROUTE" {
		t.Fatalf("mandatory publish to no queue: %v", err)
	}
	if err := d.Publish(ctx, driver.Publishing{RoutingKey: nowhere, Body: []byte(`{}`)}); err != nil {
		t.Fatalf("publish to no queue, not mandatory: %v", err)
	}
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := there
			if i%3 == 0 {
				key = nowhere
			}
			errs[i] = d.Publish(ctx, driver.Publishing{RoutingKey: key, Body: []byte(`{}`), Mandatory: true})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%3 == 0; errors.Is(err, driver.ErrUnroutable) != want || (!want && err != nil) {
			t.Errorf("publish %d (unroutable %v): %v", i, want, err)
		}
	}
}

// BenchmarkPublish measures what Mandatory costs a routable publish (the
// wait for returns handed over before the confirm), against the same
// publish without it, in the same run.
func BenchmarkPublish(b *testing.B) {
	d := openShared(b)
	q := testenv.UniqueName("amqpdriver_bench_")
	declareTestQueue(b, q)
	ctx := context.Background()
	for _, mandatory := range []bool{false, true} {
		name := "plain"
		if mandatory {
			name = "mandatory"
		}
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := d.Publish(ctx, driver.Publishing{RoutingKey: q, Body: []byte(`{}`), Mandatory: mandatory}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// A Mandatory publish given up before its confirm leaves its return to the
// channel's next drain: the return reaches ReturnedMessages (it is nobody's
// answer), the publishes after it on the same channels get their own
// answers, and no return lingers in the buffer.
func TestReturnOfAGivenUpPublishIsReportedNotMisattributed(t *testing.T) {
	testenv.RequireRabbit(t)
	u, err := ParseURL(strings.Replace(testenv.RabbitURL(), "amqp://", "rabbit://", 1))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var orphans []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Open(ctx, Config{URL: u, TransientTTL: time.Minute, PublishChannels: 1,
		ReturnedMessages: func(exchange, key string, body []byte) {
			mu.Lock()
			orphans = append(orphans, string(body))
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	there := testenv.UniqueName("amqpdriver_there_")
	declareTestQueue(t, there)
	nowhere := testenv.UniqueName("amqpdriver_nowhere_")

	gone, giveUp := context.WithCancel(context.Background())
	giveUp()
	const abandoned = 20
	given := 0
	for i := range abandoned {
		c := d.PublishAsync(ctx, driver.Publishing{RoutingKey: nowhere, Body: []byte(`{"given_up":` + strconv.Itoa(i) + `}`), Mandatory: true})
		if err := c.Wait(gone); errors.Is(err, context.Canceled) {
			given++
		} else if !errors.Is(err, driver.ErrUnroutable) {
			t.Fatalf("given-up publish %d: %v", i, err)
		}
	}
	if given == 0 {
		t.Fatal("every confirm beat the cancelled context: nothing was given up")
	}
	// Nothing else is published yet: the given-up publishes' own watchers
	// must drain their returns.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(orphans)
		mu.Unlock()
		if n == given || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	reported := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), orphans...)
	}
	if got := reported(); len(got) != given {
		t.Fatalf("%d returns reported of %d given-up publishes: %q", len(got), given, got)
	}
	for i := range 50 {
		key, want := there, false
		if i%2 == 0 {
			key, want = nowhere, true
		}
		err := d.Publish(ctx, driver.Publishing{RoutingKey: key, Body: []byte(`{"after":` + strconv.Itoa(i) + `}`), Mandatory: true})
		if errors.Is(err, driver.ErrUnroutable) != want || (!want && err != nil) {
			t.Errorf("publish %d after the given-up ones (unroutable %v): %v", i, want, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	for _, o := range reported() {
		if !strings.Contains(o, "given_up") {
			t.Errorf("a return reported as nobody's belongs to a publish that waited: %s", o)
		}
	}
}
