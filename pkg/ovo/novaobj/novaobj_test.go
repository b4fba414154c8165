package novaobj

import (
	"errors"
	"testing"

	"github.com/gonova/gonova/pkg/ovo"
)

func TestNewMessage(t *testing.T) {
	m, err := NewMessage(PriorityInfo, EventType{Object: "instance", Action: ActionCreate, Phase: Ptr(PhaseEnd)},
		NotificationPublisher{Host: "compute-1", Source: SourceCompute}, actionSample())
	if err != nil {
		t.Fatal(err)
	}
	if m.EventType != "instance.create.end" || m.PublisherID != "nova-compute:compute-1" || m.Priority != "info" ||
		m.Payload["nova_object.name"] != "InstanceActionPayload" {
		t.Fatalf("%+v", m)
	}
	if _, has := m.Payload["nova_object.changes"]; has {
		t.Fatal("payload carries changes; nova resets them before emitting")
	}
	if (EventType{Object: "service", Action: ActionUpdate}).String() != "service.update" {
		t.Fatal("event type without phase")
	}
	_, err = NewMessage(PriorityInfo, EventType{Object: "instance", Action: "explode"}, NotificationPublisher{Host: "h", Source: SourceCompute}, actionSample())
	if !errors.Is(err, ovo.ErrInvalid) {
		t.Fatalf("bad action: %v", err)
	}
	noFlavor := actionSample()
	noFlavor.Flavor = nil
	_, err = NewMessage(PriorityInfo, EventType{Object: "instance", Action: ActionReboot}, NotificationPublisher{Host: "h", Source: SourceCompute}, noFlavor)
	if !errors.Is(err, ovo.ErrInvalid) || err.Error() != "ovo: InstanceActionPayload 1.8: field flavor: invalid value: not set" {
		t.Fatalf("payload without flavor: %v", err)
	}
	if _, err := NewMessage("INFO", EventType{Object: "instance", Action: ActionCreate}, NotificationPublisher{Host: "h", Source: SourceCompute}, actionSample()); err == nil {
		t.Fatal("upper-case priority accepted (oslo upper-cases it on the wire, nova's field is lower-case)")
	}
}

func TestRegistryValid(t *testing.T) {
	if err := Registry.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(Registry.Classes()) != len(Classes) {
		t.Fatalf("%d classes registered of %d", len(Registry.Classes()), len(Classes))
	}
}
