package amqpbaseline_test

import (
	"context"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/internal/amqpbaseline"
	"github.com/gonova/gonova/pkg/testenv"
)

// TestFanoutReachesEveryConsumer: Once returns only after all n consumers
// got the message, and can be repeated.
func TestFanoutReachesEveryConsumer(t *testing.T) {
	testenv.RequireRabbit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := amqpbaseline.NewFanout(ctx, testenv.RabbitURL(), testenv.UniqueName("baseline-fanout-"), 7, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 3 {
		d, err := f.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 {
			t.Fatalf("Once took %v", d)
		}
	}
	if _, err := amqpbaseline.NewFanout(ctx, testenv.RabbitURL(), "x", 0, 1); err == nil {
		t.Fatal("NewFanout with n = 0 succeeded")
	}
}
