package rpcsvc

import (
	"context"
	"encoding/json"
)

// Wire returns rc flattened as oslo.context's to_dict, one entry per key
// (without the `_context_` prefix), with W3C trace context taken from ctx
// when rc has none: what a message carries as `_context_<key>`. Other
// oslo.messaging message kinds (notifications) use it to carry the context
// exactly as RPC does.
func (rc Context) Wire(ctx context.Context) map[string]json.RawMessage { return rc.toWire(ctx) }

// ContextFromWire rebuilds a Context from `_context_<key>` values (keys
// without the prefix), keeping unknown keys in Extra.
func ContextFromWire(m map[string]json.RawMessage) Context { return contextFromWire(m) }
