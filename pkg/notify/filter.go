package notify

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// FilterRules are oslo's NotificationFilter arguments: regular expressions
// matched, as Python's re.match, at the start of the value (append $ to
// anchor the end). An empty PublisherID or EventType means no rule. A map
// rule needs the key to be present and its value to be a string that
// matches; Metadata has message_id and timestamp.
type FilterRules struct {
	Context     map[string]string
	PublisherID string
	EventType   string
	Metadata    map[string]string
	Payload     map[string]string
}

// Filter screens the notifications an Endpoint receives.
//
//	f := notify.MustFilter(notify.FilterRules{PublisherID: `^compute\.`, EventType: `^compute\.instance\..*\.end$`})
type Filter struct {
	publisherID, eventType     *regexp.Regexp
	context, metadata, payload map[string]*regexp.Regexp
}

// NewFilter compiles rules (Go's RE2 syntax, which covers what oslo's
// filters use; look-arounds and back-references are refused).
func NewFilter(r FilterRules) (*Filter, error) {
	f := &Filter{}
	var err error
	if f.publisherID, err = compileRule("publisher_id", r.PublisherID); err != nil {
		return nil, err
	}
	if f.eventType, err = compileRule("event_type", r.EventType); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		name string
		in   map[string]string
		out  *map[string]*regexp.Regexp
	}{{"context", r.Context, &f.context}, {"metadata", r.Metadata, &f.metadata}, {"payload", r.Payload, &f.payload}} {
		for k, expr := range m.in {
			re, err := compileRule(m.name+"."+k, expr)
			if err != nil {
				return nil, err
			}
			if re == nil { // "" matches everything but still needs the key
				re = regexp.MustCompile(`\A`)
			}
			if *m.out == nil {
				*m.out = map[string]*regexp.Regexp{}
			}
			(*m.out)[k] = re
		}
	}
	return f, nil
}

// MustFilter is NewFilter that panics on a bad expression (for rules written
// in the program).
func MustFilter(r FilterRules) *Filter {
	f, err := NewFilter(r)
	if err != nil {
		panic(err)
	}
	return f
}

func compileRule(name, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`\A(?:` + expr + `)`)
	if err != nil {
		return nil, fmt.Errorf("notify: filter %s %q: %w", name, expr, err)
	}
	return re, nil
}

// Match reports whether n passes every rule.
func (f *Filter) Match(n *Notification) bool {
	if f == nil {
		return true
	}
	if f.publisherID != nil && !f.publisherID.MatchString(n.PublisherID) {
		return false
	}
	if f.eventType != nil && !f.eventType.MatchString(n.EventType) {
		return false
	}
	if !matchDict(f.context, n.Context) {
		return false
	}
	if len(f.metadata) > 0 {
		meta := map[string]json.RawMessage{}
		for k, v := range map[string]string{keyMessageID: n.MessageID, keyTimestamp: FormatTimestamp(n.Timestamp)} {
			b, _ := json.Marshal(v)
			meta[k] = b
		}
		if !matchDict(f.metadata, meta) {
			return false
		}
	}
	if len(f.payload) > 0 {
		var payload map[string]json.RawMessage
		if json.Unmarshal(n.Payload, &payload) != nil || !matchDict(f.payload, payload) {
			return false
		}
	}
	return true
}

func matchDict(rules map[string]*regexp.Regexp, data map[string]json.RawMessage) bool {
	for k, re := range rules {
		raw, ok := data[k]
		if !ok {
			return false
		}
		var s string
		if json.Unmarshal(raw, &s) != nil { // not a string (null included): oslo's mismatch
			return false
		}
		if !re.MatchString(s) {
			return false
		}
	}
	return true
}
