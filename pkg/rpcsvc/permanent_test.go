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
