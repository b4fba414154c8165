package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// Priority is a notification's priority, as oslo names its notifier methods
// and its listener endpoints. Routing keys carry it lower-case
// (`notifications.info`); messages carry it upper-case (`INFO`).
type Priority string

// oslo's priorities (oslo_messaging.notify.dispatcher.PRIORITIES).
const (
	Audit    Priority = "audit"
	Debug    Priority = "debug"
	Info     Priority = "info"
	Warn     Priority = "warn"
	Error    Priority = "error"
	Critical Priority = "critical"
	Sample   Priority = "sample"
)

// Priorities lists every priority in oslo's order.
var Priorities = []Priority{Audit, Debug, Info, Warn, Error, Critical, Sample}

// Valid reports whether p is one of oslo's priorities.
func (p Priority) Valid() bool {
	for _, q := range Priorities {
		if p == q {
			return true
		}
	}
	return false
}

// Wire is p as a message carries it: upper-case (WARN for Warn, as oslo's
// warn() and warning() both send).
func (p Priority) Wire() string { return strings.ToUpper(string(p)) }

// ParsePriority reads a message's priority as oslo's dispatcher does:
// lower-cased, and one of Priorities ("WARNING" is not).
func ParsePriority(s string) (Priority, error) {
	p := Priority(strings.ToLower(s))
	if !p.Valid() {
		return "", fmt.Errorf("notify: unknown priority %q", s)
	}
	return p, nil
}

// TimestampLayout is the layout of a notification's timestamp: Python's
// str(datetime.utcnow()), UTC without a zone. Python omits the fraction when
// the microseconds are zero; so does FormatTimestamp.
const TimestampLayout = "2006-01-02 15:04:05.000000"

// FormatTimestamp formats t (in UTC) as oslo's notifier does.
func FormatTimestamp(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format(TimestampLayout)
}

// ParseTimestamp reads a timestamp written by FormatTimestamp or by Python
// (with or without the fraction, or ISO 8601 with a T).
func ParseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("notify: timestamp %q is not in oslo's format (%s)", s, TimestampLayout)
}

// Notification is one notification as oslo.messaging sends it.
type Notification struct {
	// MessageID is message_id, a UUID (with dashes, as oslo writes it).
	MessageID string
	// PublisherID is publisher_id, for example "compute.host1".
	PublisherID string
	// EventType is event_type, for example "compute.instance.create.end".
	EventType string
	Priority  Priority
	// Payload is the payload, any JSON value (nova's versioned notifications
	// send an oslo versioned object primitive).
	Payload json.RawMessage
	// Timestamp is when the notification was made, UTC, to the microsecond.
	Timestamp time.Time
	// Context is the request context, one entry per `_context_<key>` (the
	// key without the prefix), as oslo flattens it.
	Context map[string]json.RawMessage
	// UniqueID is `_unique_id` (uuid hex), which oslo adds to every message
	// it sends and by which its listeners drop duplicates. Kept across
	// retries of one notification.
	UniqueID string
}

// RequestContext returns the request context as rpcsvc decodes it.
func (n *Notification) RequestContext() rpcsvc.Context {
	return rpcsvc.ContextFromWire(n.Context)
}

// Message keys (oslo_messaging.notify.notifier.Notifier._notify).
const (
	keyMessageID   = "message_id"
	keyPublisherID = "publisher_id"
	keyEventType   = "event_type"
	keyPriority    = "priority"
	keyPayload     = "payload"
	keyTimestamp   = "timestamp"
	keyUniqueID    = "_unique_id"
)

// redactedContextKeys are dropped from a notification's context: oslo sends
// a redacted copy (oslo.context's redacted_copy), never credentials.
var redactedContextKeys = []string{"auth_token", "service_token", "auth_token_info", "service_token_info"}

// newNotification fills the generated fields.
func newNotification(publisherID, eventType string, p Priority, payload json.RawMessage, rctx map[string]json.RawMessage) *Notification {
	for _, k := range redactedContextKeys {
		delete(rctx, k)
	}
	return &Notification{
		MessageID:   uuid.NewString(),
		PublisherID: publisherID,
		EventType:   eventType,
		Priority:    p,
		Payload:     payload,
		Timestamp:   time.Now().UTC(),
		Context:     rctx,
		UniqueID:    strings.ReplaceAll(uuid.NewString(), "-", ""),
	}
}

// Encode returns the AMQP body of n: with envelope (the messagingv2 driver),
// the message inside oslo's 2.0 envelope; without (the messaging driver),
// the message itself (format 1.0).
func (n *Notification) Encode(envelope bool) ([]byte, error) {
	inner, err := n.encodeInner()
	if err != nil {
		return nil, err
	}
	if !envelope {
		return inner, nil
	}
	return wire.Wrap(inner)
}

func (n *Notification) encodeInner() ([]byte, error) {
	payload := n.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	} else if !json.Valid(payload) {
		return nil, errors.New("notify: payload is not valid JSON")
	}
	m := make(map[string]any, 8+len(n.Context))
	for k, v := range n.Context {
		if v == nil {
			v = json.RawMessage("null")
		}
		m[wire.ContextPrefix+k] = v
	}
	m[keyMessageID] = n.MessageID
	m[keyPublisherID] = n.PublisherID
	m[keyEventType] = n.EventType
	m[keyPriority] = n.Priority.Wire()
	m[keyPayload] = payload
	m[keyTimestamp] = FormatTimestamp(n.Timestamp)
	if n.UniqueID != "" {
		m[keyUniqueID] = n.UniqueID
	}
	return marshal(m)
}

// Decode reads an AMQP body sent by any oslo notifier driver over messaging
// (2.0 envelope or 1.0 bare dict). A missing or unknown priority is an error,
// as oslo's dispatcher drops such a message.
func Decode(body []byte) (*Notification, error) {
	m, _, err := wire.Unwrap(body)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	n := &Notification{}
	str := func(key string, dst *string) error {
		raw, ok := m[key]
		if !ok || string(raw) == "null" {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("notify: %s is not a string: %s", key, clip(raw))
		}
		return nil
	}
	var prio, ts string
	for key, dst := range map[string]*string{
		keyMessageID: &n.MessageID, keyPublisherID: &n.PublisherID, keyEventType: &n.EventType,
		keyPriority: &prio, keyTimestamp: &ts, keyUniqueID: &n.UniqueID,
	} {
		if err := str(key, dst); err != nil {
			return nil, err
		}
	}
	if n.Priority, err = ParsePriority(prio); err != nil {
		return nil, err
	}
	if ts != "" {
		if n.Timestamp, err = ParseTimestamp(ts); err != nil {
			return nil, err
		}
	}
	n.Payload = m[keyPayload]
	if n.Payload == nil {
		n.Payload = json.RawMessage("null")
	}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, wire.ContextPrefix); ok {
			if n.Context == nil {
				n.Context = make(map[string]json.RawMessage)
			}
			n.Context[rest] = v
		}
	}
	return n, nil
}

func clip(b []byte) string {
	const max = 80
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// marshal is json.Marshal without HTML escaping, as Python's json.dumps.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
