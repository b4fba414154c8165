package rpcsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/testenv"
)

// TestRetryStopsAtPermanentErrors: the retry loop asks the driver seam only:
// an error wrapping driver.ErrPermanent ends it at once, ErrNotConnected is
// retried until ctx ends.
func TestRetryStopsAtPermanentErrors(t *testing.T) {
	t.Parallel()
	tr := &Transport{log: testLogger()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := 0
	perm := driver.Permanent(errors.New("declaring exchange \"x\": refused"))
	err := tr.retry(ctx, "test", func() error { calls++; return fmt.Errorf("wrapped: %w", perm) })
	if calls != 1 || !errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("permanent error: %d attempts, %v; want 1 attempt and the error", calls, err)
	}

	calls = 0
	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	err = tr.retry(short, "test", func() error { calls++; return driver.ErrNotConnected })
	if calls < 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ErrNotConnected: %d attempts, %v; want retries until the deadline", calls, err)
	}
}

// TestCastToAnExchangeOfAnotherTypeFailsAtOnce: on both drivers a cast whose
// exchange exists with another type (here a server's fanout exchange used as
// a topic exchange) fails with driver.ErrPermanent at the first attempt
// instead of retrying until its deadline.
func TestCastToAnExchangeOfAnotherTypeFailsAtOnce(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
		cl := e.client(t, tr, ClientConfig{Target: Target{Exchange: fanoutExchange(e.topic)}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := cl.Cast(ctx, "record", RecordArgs{N: 1})
		if !errors.Is(err, driver.ErrPermanent) {
			t.Fatalf("cast to a fanout exchange as a topic exchange: %v, want driver.ErrPermanent", err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("the permanent error took %s: it was retried", el)
		}
		if e.kind == "rabbit" && !strings.Contains(err.Error(), "exchange type") {
			t.Fatalf("the error does not say what to align: %v", err)
		}
		// The transport is still fine for the right exchange.
		var out EchoArgs
		if err := e.client(t, tr, ClientConfig{}).Call(ctx, "echo", EchoArgs{Value: 3}, &out); err != nil || out.Value != 3 {
			t.Fatalf("call after the permanent error: %v %+v", err, out)
		}
	})
}

// TestOpenWithRefusedCredentialsIsPermanent: every host refusing the login is
// permanent; a host that merely does not answer is not.
func TestOpenWithRefusedCredentialsIsPermanent(t *testing.T) {
	t.Parallel()
	testenv.RequireRabbit(t)
	hostPort := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(testenv.RabbitURL(), "amqp://"), "guest:guest@"), "/")
	open := func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tr, err := Open(ctx, Options{TransportURL: url, Logger: testLogger()})
		if err == nil {
			_ = tr.Close(ctx)
		}
		return err
	}
	err := open("rabbit://gonova_nobody:wrong@" + hostPort + "/")
	if err == nil || !errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("refused login: %v, want driver.ErrPermanent", err)
	}
	err = open("rabbit://gonova_nobody:wrong@" + hostPort + ",guest:guest@127.0.0.1:1/")
	if err == nil || errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("refused login on one host, no answer on the other: %v, want a retryable error", err)
	}
	if err := open("kafka://h"); !errors.Is(err, driver.ErrPermanent) {
		t.Fatalf("bad transport_url: %v, want driver.ErrPermanent", err)
	}
}
