package amqpdriver

import (
	"context"
	"errors"
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
