package amqpdriver

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// PreconditionError is a declaration the broker refused with
// PRECONDITION_FAILED: the entity exists with other properties or
// arguments (another service, or this one before a change of options,
// declared it), or the broker refuses the combination itself. Its text
// names the entity, what gonova declared, what the broker has, the option
// to align and the way out. It matches driver.ErrPermanent: declaring it
// again fails the same way until the broker or the options change.
type PreconditionError struct {
	Entity string // queue or exchange name
	Kind   string // "queue" or "exchange"
	// Arg is the property or argument the broker named (durable,
	// auto_delete, type, x-queue-type, x-expires...), Received what gonova
	// sent and Current what the broker has ("none": not set). RabbitMQ
	// reports only the first difference.
	Arg, Received, Current string
	Vhost                  string // the broker's virtual host, from its reason
	// Declared is the whole declaration gonova sent.
	Declared string
	// Option names the oslo option(s) to align.
	Option string
	Err    *amqp.Error
}

func (e *PreconditionError) Error() string {
	if e.Arg == "" {
		return fmt.Sprintf("the broker refused %s %q (%s); gonova declared it %s: align %s", e.Kind, e.Entity, e.Err.Reason, e.Declared, e.Option)
	}
	return fmt.Sprintf("the broker already has %s %q with %s = %s, gonova declares %s = %s (declared %s): "+
		"align %s with the services that declared it, or delete the %s (rabbitmqctl delete_%s %s -p %s) "+
		"once no service of the old options uses it, or use a new vhost",
		e.Kind, e.Entity, e.Arg, e.Current, e.Arg, e.Received, e.Declared, e.Option, e.Kind, e.Kind, e.Entity, shellQuote(e.Vhost))
}

func (e *PreconditionError) Unwrap() error { return e.Err }

// Is makes every PreconditionError a driver.ErrPermanent.
func (e *PreconditionError) Is(target error) bool { return target == driver.ErrPermanent }

// inequivalent parses RabbitMQ's (3.8-3.13) text: "inequivalent arg
// 'x-queue-type' for queue 'compute' in vhost 'v': received 'quorum' but
// current is 'classic'" or "received the value '5' of type 'signedint' but
// current is none".
var inequivalent = regexp.MustCompile(`inequivalent arg '([^']+)' for (queue|exchange) '.*' in vhost '(.*)': received (?:the value )?('[^']*'|none)(?: of type '[^']*')? but current is (?:the value )?('[^']*'|none)`)

// optionOf names the oslo options that set arg.
func optionOf(kind, arg string) string {
	switch arg {
	case "x-queue-type":
		return "rabbit_quorum_queue, rabbit_transient_quorum_queue and rabbit_stream_fanout"
	case "durable":
		if kind == "exchange" {
			return "amqp_durable_queues, rabbit_quorum_queue (control exchange) or rabbit_transient_quorum_queue (fanout exchanges)"
		}
		return "amqp_durable_queues, rabbit_quorum_queue (topic queues) or rabbit_transient_quorum_queue (reply and fanout queues)"
	case "auto_delete":
		return "amqp_auto_delete"
	case "x-expires", "x-max-age":
		return "rabbit_transient_queues_ttl"
	case "x-delivery-limit":
		return "rabbit_quorum_delivery_limit"
	case "x-max-in-memory-length":
		return "rabbit_quorum_max_memory_length"
	case "x-max-in-memory-bytes":
		return "rabbit_quorum_max_memory_bytes"
	case "type":
		return "the exchange type (another program declared the exchange)"
	}
	return "amqp_durable_queues, amqp_auto_delete and the rabbit_quorum_* options"
}

// explainQueue and explainExchange turn PRECONDITION_FAILED into a
// *PreconditionError; other errors pass through permanent.
func explainQueue(err error, name string, d declaration) error {
	return explainDecl(err, "queue", name, fmt.Sprintf("durable=%t auto_delete=%t arguments=%s", d.Durable, d.AutoDelete, formatArgs(d.Args)))
}

func explainExchange(err error, name, typ string, durable, autoDelete bool) error {
	return explainDecl(err, "exchange", name, fmt.Sprintf("type=%s durable=%t auto_delete=%t", typ, durable, autoDelete))
}

// explain is explainDecl for errors outside a declaration (bind, consume).
func explain(err error, entity string) error {
	return explainDecl(err, "queue", entity, "")
}

func explainDecl(err error, kind, name, declared string) error {
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		return permanent(err)
	}
	pe := &PreconditionError{Entity: name, Kind: kind, Declared: declared, Err: ae}
	if m := inequivalent.FindStringSubmatch(ae.Reason); m != nil {
		pe.Arg, pe.Kind, pe.Vhost, pe.Received, pe.Current = m[1], m[2], m[3], m[4], m[5]
		if pe.Arg == "x-queue-type" && pe.Current == "none" {
			pe.Current = "none (a classic queue)"
		}
		pe.Option = optionOf(pe.Kind, pe.Arg)
		return pe
	}
	pe.Option = "amqp_durable_queues, amqp_auto_delete and the rabbit_quorum_* options"
	if pe.Declared == "" {
		pe.Declared = "(see the broker's reason)"
	}
	return pe
}

// formatArgs prints a table sorted by key, as {k: v, ...}.
func formatArgs(t amqp.Table) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %v", k, t[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// shellQuote quotes a vhost for the rabbitmqctl command line shown.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
