package novaobj

import (
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRefereeEmit: for the same payloads, NewMessage gives what nova's
// NotificationBase.emit hands to oslo.messaging's notifier (seen through its
// test driver): priority (upper-cased by oslo), event_type, publisher_id and
// payload. It also pins the rest of oslo's message, which pkg/notify adds:
// message_id (a UUID) and timestamp ("YYYY-MM-DD HH:MM:SS.ffffff", UTC).
func TestRefereeEmit(t *testing.T) {
	var got []struct {
		Message  map[string]any
		Priority string
	}
	runReferee(t, "emit", nil, &got)
	if len(got) != 2 {
		t.Fatalf("nova emitted %d notifications", len(got))
	}
	events := []EventType{{Object: "service", Action: ActionUpdate}, {Object: "instance", Action: ActionReboot, Phase: Ptr(PhaseEnd)}}
	pub := NotificationPublisher{Host: "compute-1", Source: SourceCompute}
	stamp := regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$`)
	for i, n := range got {
		msg := n.Message
		if keys := slices.Sorted(maps.Keys(msg)); !slices.Equal(keys, []string{"event_type", "message_id", "payload", "priority", "publisher_id", "timestamp"}) {
			t.Errorf("oslo's message has keys %v", keys)
		}
		if ts, _ := msg["timestamp"].(string); !stamp.MatchString(ts) {
			t.Errorf("timestamp %q", ts)
		}
		b, _ := json.Marshal(msg["payload"])
		payload, _, err := Registry.Unmarshal(b)
		if err != nil {
			t.Fatalf("nova's payload: %v", err)
		}
		m, err := NewMessage(PriorityInfo, events[i], pub, payload)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ToUpper(m.Priority) != msg["priority"] || n.Priority != msg["priority"] ||
			m.EventType != msg["event_type"] || m.PublisherID != msg["publisher_id"] {
			t.Errorf("Go %s %s %s, nova %v %v %v", m.Priority, m.EventType, m.PublisherID, msg["priority"], msg["event_type"], msg["publisher_id"])
		}
		gb, _ := json.Marshal(m.Payload)
		var a, w any
		_ = json.Unmarshal(gb, &a)
		_ = json.Unmarshal(b, &w)
		if !reflect.DeepEqual(a, w) {
			t.Errorf("payload:\n  Go   %s\n  nova %s", gb, b)
		}
	}
}
