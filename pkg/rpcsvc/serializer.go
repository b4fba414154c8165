package rpcsvc

import (
	"context"
	"encoding/json"
)

// Serializer converts entities on their way to and from the wire, as oslo's
// Serializer (nova's NovaObjectSerializer wraps objects as
// {"nova_object.name": ..., "nova_object.data": ...}). It sees the whole
// args object and each result.
//
//	type novaObjects struct{}
//	func (novaObjects) SerializeEntity(ctx context.Context, v any) (any, error) { return wrap(v), nil }
//	func (novaObjects) DeserializeEntity(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) { return unwrap(raw) }
type Serializer interface {
	// SerializeEntity returns the value to marshal in place of v.
	SerializeEntity(ctx context.Context, v any) (any, error)
	// DeserializeEntity returns the JSON to decode in place of raw.
	DeserializeEntity(ctx context.Context, raw json.RawMessage) (json.RawMessage, error)
}

// NoOpSerializer passes entities through unchanged.
type NoOpSerializer struct{}

// SerializeEntity returns v.
func (NoOpSerializer) SerializeEntity(_ context.Context, v any) (any, error) { return v, nil }

// DeserializeEntity returns raw.
func (NoOpSerializer) DeserializeEntity(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
	return raw, nil
}
