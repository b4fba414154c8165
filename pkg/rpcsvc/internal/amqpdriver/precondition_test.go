package amqpdriver

import (
	"errors"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// RabbitMQ 3.10's texts (read from the broker: declare, then declare again
// differently) are parsed into the argument, what was sent and what the
// broker has, and the option to align.
func TestPreconditionTextsOfRabbitMQ(t *testing.T) {
	cases := []struct {
		reason                       string
		kind, arg, received, current string
		option                       string
	}{
		{"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'compute' in vhost '/': received 'stream' but current is 'quorum'",
			"queue", "x-queue-type", "'stream'", "'quorum'", "rabbit_quorum_queue"},
		{"PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'compute' in vhost 'v1': received the value '5' of type 'signedint' but current is none",
			"queue", "x-delivery-limit", "'5'", "none", "rabbit_quorum_delivery_limit"},
		{"PRECONDITION_FAILED - inequivalent arg 'x-expires' for queue 'reply_x' in vhost '/': received '2000' but current is '1000'",
			"queue", "x-expires", "'2000'", "'1000'", "rabbit_transient_queues_ttl"},
		{"PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'nova' in vhost '/': received 'true' but current is 'false'",
			"exchange", "durable", "'true'", "'false'", "amqp_durable_queues"},
		{"PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'compute' in vhost '/': received 'true' but current is 'false'",
			"queue", "auto_delete", "'true'", "'false'", "amqp_auto_delete"},
	}
	for _, c := range cases {
		err := explainQueue(&amqp.Error{Code: amqp.PreconditionFailed, Reason: c.reason}, "e", declaration{Durable: true, Args: amqp.Table{"x-queue-type": "quorum"}})
		var pe *PreconditionError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v is no *PreconditionError", c.reason, err)
		}
		if pe.Kind != c.kind || pe.Arg != c.arg || pe.Received != c.received || pe.Current != c.current || !strings.Contains(pe.Option, c.option) {
			t.Errorf("%s:\n got %+v", c.reason, pe)
		}
		if !errors.Is(err, driver.ErrPermanent) {
			t.Errorf("%v is not permanent", err)
		}
		for _, w := range []string{c.arg, c.current, "durable=true", "x-queue-type: quorum", "delete_" + c.kind, "new vhost"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
	// A refusal of the declaration itself (quorum queues cannot be
	// auto-delete) still names the entity and what was declared.
	err := explainQueue(&amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - invalid property 'auto-delete' for queue 'q' in vhost '/'"}, "q", declaration{Durable: true, AutoDelete: true})
	if !strings.Contains(err.Error(), "auto-delete") || !strings.Contains(err.Error(), "auto_delete=true") {
		t.Errorf("%v", err)
	}
}
