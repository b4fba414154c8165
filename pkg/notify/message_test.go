package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTimestampIsPythonsStrOfUTCNow(t *testing.T) {
	ts := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	if got := FormatTimestamp(ts); got != "2026-12-01 10:00:00.123456" {
		t.Errorf("FormatTimestamp = %q", got)
	}
	if got := FormatTimestamp(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)); got != "2026-12-01 10:00:00" {
		t.Errorf("whole seconds: %q, want no fraction (Python's str(datetime))", got)
	}
	for _, s := range []string{"2026-12-01 10:00:00.123456", "2026-12-01 10:00:00", "2026-12-01T10:00:00.123456"} {
		got, err := ParseTimestamp(s)
		if err != nil || got.Year() != 2026 || got.Hour() != 10 {
			t.Errorf("ParseTimestamp(%q) = %v, %v", s, got, err)
		}
	}
}

func TestPriorities(t *testing.T) {
	if Warn.Wire() != "WARN" || Info.Wire() != "INFO" {
		t.Error("wire priorities are upper-case")
	}
	if p, err := ParsePriority("ERROR"); err != nil || p != Error {
		t.Errorf("ParsePriority(ERROR) = %v, %v", p, err)
	}
	if _, err := ParsePriority("WARNING"); err == nil {
		t.Error("WARNING is not one of oslo's dispatcher priorities")
	}
	if _, _, err := splitTopic("notifications"); err == nil {
		t.Error("a topic without a priority accepted")
	}
	if base, p, err := splitTopic("versioned_notifications.error"); err != nil || base != "versioned_notifications" || p != Error {
		t.Errorf("splitTopic = %q %q %v", base, p, err)
	}
}

func TestEncodeDecodeBothFormats(t *testing.T) {
	n := newNotification("compute.h1", "compute.instance.create.end", Info, json.RawMessage(`{"a":"<b>&"}`),
		map[string]json.RawMessage{"request_id": json.RawMessage(`"req-1"`), "auth_token": json.RawMessage(`"secret"`)})
	for _, envelope := range []bool{true, false} {
		body, err := n.Encode(envelope)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), "secret") {
			t.Errorf("auth_token sent: %s", body)
		}
		if strings.Contains(string(body), `\u003c`) {
			t.Errorf("HTML-escaped (Python does not): %s", body)
		}
		var top map[string]any
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatal(err)
		}
		if envelope {
			if top["oslo.version"] != "2.0" {
				t.Fatalf("envelope: %s", body)
			}
			if _, ok := top["oslo.message"].(string); !ok {
				t.Fatalf("oslo.message is not a JSON string: %s", body)
			}
		} else {
			if top["priority"] != "INFO" || top["_context_request_id"] != "req-1" || top["event_type"] != "compute.instance.create.end" {
				t.Fatalf("v1 body: %s", body)
			}
		}
		got, err := Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		if got.MessageID != n.MessageID || got.PublisherID != "compute.h1" || got.EventType != n.EventType || got.Priority != Info ||
			string(got.Payload) != `{"a":"<b>&"}` || string(got.Context["request_id"]) != `"req-1"` || got.UniqueID != n.UniqueID ||
			!got.Timestamp.Equal(n.Timestamp.Truncate(time.Microsecond)) {
			t.Errorf("decoded %+v\nfrom %+v", got, n)
		}
		if rc := got.RequestContext(); rc.RequestID != "req-1" {
			t.Errorf("request context %+v", rc)
		}
	}
	if _, err := Decode([]byte(`{"event_type":"x","priority":"LOUD"}`)); err == nil {
		t.Error("unknown priority decoded")
	}
	if _, err := Decode([]byte(`[1]`)); err == nil {
		t.Error("non-object decoded")
	}
}

func TestFilterFollowsOslo(t *testing.T) {
	n := &Notification{PublisherID: "compute.host1", EventType: "compute.instance.create.end", Priority: Info,
		Payload:   json.RawMessage(`{"state":"active","n":3}`),
		Context:   map[string]json.RawMessage{"project_id": json.RawMessage(`"p1"`), "roles": json.RawMessage(`["admin"]`)},
		MessageID: "m1", Timestamp: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		rules FilterRules
		want  bool
	}{
		{FilterRules{}, true},
		{FilterRules{PublisherID: `^compute.*`}, true},
		{FilterRules{PublisherID: `compute`}, true}, // re.match: anchored at the start
		{FilterRules{PublisherID: `host1`}, false},  // ... only at the start
		{FilterRules{EventType: `compute\.instance\.create`}, true},
		{FilterRules{EventType: `compute\.instance$`}, false},
		{FilterRules{Context: map[string]string{"project_id": "^p1$"}}, true},
		{FilterRules{Context: map[string]string{"project_id": "^p2$"}}, false},
		{FilterRules{Context: map[string]string{"user_id": ".*"}}, false}, // missing key
		{FilterRules{Context: map[string]string{"roles": ".*"}}, false},   // not a string
		{FilterRules{Payload: map[string]string{"state": "^active$"}}, true},
		{FilterRules{Payload: map[string]string{"n": "3"}}, false},
		{FilterRules{Metadata: map[string]string{"timestamp": "2026-08"}}, true},
		{FilterRules{Metadata: map[string]string{"message_id": "m2"}}, false},
	} {
		if got := MustFilter(c.rules).Match(n); got != c.want {
			t.Errorf("%+v: match = %v, want %v", c.rules, got, c.want)
		}
	}
	if _, err := NewFilter(FilterRules{EventType: `(?=x)`}); err == nil {
		t.Error("a look-ahead compiled")
	}
}
