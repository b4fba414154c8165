package novaobj

import (
	"fmt"
	"strings"

	"github.com/gonova/gonova/pkg/ovo"
)

// Registry holds every class of Classes, in nova's namespace.
var Registry = func() *ovo.Registry {
	r := ovo.NewRegistry(ovo.NovaNamespace)
	samples := map[string]any{
		"NotificationPublisher": NotificationPublisher{}, "EventType": EventType{},
		"ServiceStatusPayload": ServiceStatusPayload{}, "FlavorPayload": FlavorPayload{},
		"ExceptionPayload": ExceptionPayload{}, "KeypairPayload": KeypairPayload{},
		"IpPayload": IpPayload{}, "BlockDevicePayload": BlockDevicePayload{},
		"InstancePayload": InstancePayload{}, "InstanceActionPayload": InstanceActionPayload{},
		"InstanceCreatePayload": InstanceCreatePayload{}, "InstanceStateUpdatePayload": InstanceStateUpdatePayload{},
		"AuditPeriodPayload": AuditPeriodPayload{}, "InstanceUpdatePayload": InstanceUpdatePayload{},
	}
	for _, c := range Classes {
		r.MustRegister(c, samples[c.Name])
	}
	return r
}()

// Priorities nova's NotificationBase carries (fields.NotificationPriority);
// oslo's notifier sends them upper-cased as the message's priority.
const (
	PriorityAudit    = "audit"
	PriorityCritical = "critical"
	PriorityDebug    = "debug"
	PriorityInfo     = "info"
	PriorityError    = "error"
	PrioritySample   = "sample"
	PriorityWarn     = "warn"
)

// Phases of an EventType (fields.NotificationPhase).
const (
	PhaseStart    = "start"
	PhaseEnd      = "end"
	PhaseError    = "error"
	PhaseProgress = "progress"
)

// Actions gonova emits (fields.NotificationAction has them all).
const (
	ActionCreate = "create"
	ActionDelete = "delete"
	ActionReboot = "reboot"
	ActionUpdate = "update"
)

// Sources (fields.NotificationSource): the publisher's binary.
const (
	SourceAPI       = "nova-api"
	SourceCompute   = "nova-compute"
	SourceConductor = "nova-conductor"
	SourceScheduler = "nova-scheduler"
)

// String is nova's EventType.to_notification_event_type_field:
// "object.action[.phase]", e.g. "instance.create.end".
func (e EventType) String() string {
	s := e.Object + "." + e.Action
	if e.Phase != nil && *e.Phase != "" {
		s += "." + *e.Phase
	}
	return s
}

// ID is the publisher_id nova emits with: "source:host", e.g. "nova-compute:host1".
func (p NotificationPublisher) ID() string { return p.Source + ":" + p.Host }

// Message is what nova's NotificationBase.emit hands to oslo's notifier (a
// versioned notification): the notifier (pkg/notify) adds message_id and
// timestamp, upper-cases the priority and sends it on the
// versioned_notifications topic.
type Message struct {
	Priority    string         // nova's priority, e.g. "info"
	EventType   string         // "service.update", "instance.create.end"
	PublisherID string         // "nova-compute:host1"
	Payload     map[string]any // the payload's primitive, no changes
}

// NewMessage builds the message for payload (a registered payload struct),
// as nova's emit does: priority must be one of nova's, the event type and
// publisher must be valid for their classes, and every field of the payload
// must be set (ovo.Options.RequireAll).
func NewMessage(priority string, et EventType, pub NotificationPublisher, payload any) (Message, error) {
	ok := false
	for _, p := range NotificationPriorityValues {
		ok = ok || p == priority
	}
	if !ok {
		return Message{}, fmt.Errorf("novaobj: priority %q is not one of %s", priority, strings.Join(NotificationPriorityValues, ", "))
	}
	// Encoding checks the enums and non-nullable fields of all three; nova
	// sets every field of what it emits, so an unset one is an error here.
	all := ovo.Options{RequireAll: true}
	if _, err := Registry.Encode(et, all); err != nil {
		return Message{}, err
	}
	if _, err := Registry.Encode(pub, all); err != nil {
		return Message{}, err
	}
	p, err := Registry.Encode(payload, all)
	if err != nil {
		return Message{}, err
	}
	return Message{Priority: priority, EventType: et.String(), PublisherID: pub.ID(), Payload: p}, nil
}

// Ptr returns a pointer to v: for the nullable fields.
func Ptr[T any](v T) *T { return &v }

// NotificationPriorityValues are nova 26.2.2's fields.NotificationPriority.ALL.
var NotificationPriorityValues = []string{PriorityAudit, PriorityCritical, PriorityDebug, PriorityInfo, PriorityError, PrioritySample, PriorityWarn}
