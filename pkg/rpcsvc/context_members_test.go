package rpcsvc

import (
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// The client's map-free context (wireMembers) encodes exactly as the map of
// Context.Wire does, for every kind of context: empty, full, with extra keys
// that collide with the fields, with escapes, with trace context from a
// span.
func TestWireMembersMatchWire(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled})
	spanCtx := trace.ContextWithSpanContext(context.Background(), sc)
	cases := []struct {
		ctx context.Context
		rc  Context
	}{
		{context.Background(), Context{}},
		{context.Background(), Context{RequestID: "req-1", GlobalRequestID: "req-g", UserID: "u<&>", ProjectID: "p\"q\\", Roles: []string{"admin", "réader"}, IsAdmin: true,
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "k=v"}},
		{context.Background(), Context{Extra: map[string]json.RawMessage{"user_name": json.RawMessage(`"alice"`), "request_id": json.RawMessage(`"lost"`),
			"traceparent": json.RawMessage(`"kept"`), "z": json.RawMessage(`{"a": 1}`)}}},
		{spanCtx, Context{Extra: map[string]json.RawMessage{"traceparent": json.RawMessage(`"lost"`)}}},
	}
	for i, c := range cases {
		viaMap, err := wire.EncodeRequest(&wire.Request{Method: "m", UniqueID: "u", Context: c.rc.Wire(c.ctx)})
		if err != nil {
			t.Fatal(err)
		}
		var buf [12]wire.ContextMember
		viaMembers, err := wire.EncodeRequest(&wire.Request{Method: "m", UniqueID: "u", ContextMembers: c.rc.wireMembers(c.ctx, buf[:0])})
		if err != nil {
			t.Fatal(err)
		}
		if string(viaMap) != string(viaMembers) {
			t.Fatalf("case %d:\nmap     %s\nmembers %s", i, viaMap, viaMembers)
		}
	}
}
