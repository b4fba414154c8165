package amqpdriver

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// TestPermanentErrors: the broker refusals retrying cannot fix, and a bad
// transport_url, wrap driver.ErrPermanent; connection trouble does not.
func TestPermanentErrors(t *testing.T) {
	pre := explain(&amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'"}, "q")
	var pe *PreconditionError
	if !errors.As(pre, &pe) || !strings.HasPrefix(pe.Option, "amqp_durable_queues") {
		t.Fatalf("explain(PRECONDITION_FAILED) = %v, want a *PreconditionError naming amqp_durable_queues", pre)
	}
	for name, err := range map[string]error{
		"precondition failed": fmt.Errorf("declaring queue %q: %w", "q", pre),
		"access refused":      explain(&amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED - access to exchange 'x' refused"}, "x"),
		"not allowed":         explain(&amqp.Error{Code: amqp.NotAllowed, Reason: "NOT_ALLOWED"}, "x"),
		"bad login":           permanent(amqp.ErrCredentials),
	} {
		if !errors.Is(err, driver.ErrPermanent) {
			t.Errorf("%s: %v does not wrap driver.ErrPermanent", name, err)
		}
		var ae *amqp.Error
		if !errors.As(err, &ae) {
			t.Errorf("%s: the *amqp.Error is no longer reachable in %v", name, err)
		}
	}
	if _, err := ParseURL("kafka://h"); !errors.Is(err, driver.ErrPermanent) {
		t.Errorf("ParseURL error %v does not wrap driver.ErrPermanent", err)
	}
	for name, err := range map[string]error{
		"channel error":  explain(&amqp.Error{Code: amqp.ChannelError, Reason: "CHANNEL_ERROR"}, "x"),
		"closed":         explain(amqp.ErrClosed, "x"),
		"not connected":  fmt.Errorf("%w: publish: %v", driver.ErrNotConnected, amqp.ErrClosed),
		"connection cut": explain(&amqp.Error{Code: amqp.ConnectionForced, Reason: "CONNECTION_FORCED"}, "x"),
	} {
		if errors.Is(err, driver.ErrPermanent) {
			t.Errorf("%s: %v wraps driver.ErrPermanent; retrying may fix it", name, err)
		}
	}
}
