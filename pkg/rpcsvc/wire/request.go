package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// ContextPrefix prefixes each request-context key at the top level of a
// request, as oslo's pack_context does.
const ContextPrefix = "_context_"

// Request is one RPC request (a call or a cast) as oslo.messaging lays it out
// inside the envelope.
type Request struct {
	// Method is the endpoint method to run. Required.
	Method string
	// Args is the JSON object of keyword arguments; nil encodes as {}.
	Args json.RawMessage
	// Namespace and Version select the endpoint; empty means none and "1.0".
	Namespace string
	Version   string
	// UniqueID (`_unique_id`, uuid hex) identifies the message for duplicate
	// detection. oslo sets it on every message.
	UniqueID string
	// MsgID (`_msg_id`) and ReplyQ (`_reply_q`) are set on calls only.
	MsgID  string
	ReplyQ string
	// Timeout is `_timeout` on calls: nil when absent or null, else the number
	// as sent (an integer or a float; see TimeoutSeconds).
	Timeout *json.Number
	// Context is the request context, one entry per `_context_<key>`.
	Context map[string]json.RawMessage
	// ContextMembers, when not nil, is what EncodeRequest sends as the
	// context instead of Context (which it then ignores): the same entries
	// without a map per message (the sending side's form; EncodeRequest sorts
	// it in place). Decoding fills Context only.
	ContextMembers []ContextMember
}

// ContextMember is one `_context_<Key>` entry; a nil Value is null.
type ContextMember struct {
	Key   string
	Value json.RawMessage
}

// IsCall reports whether the request expects a reply.
func (r *Request) IsCall() bool { return r.MsgID != "" }

// TimeoutSeconds returns `_timeout` in seconds, and whether it was sent as an
// integer (oslo sends keep-alive replies only for integer timeouts). ok is false
// when no usable timeout was sent.
func (r *Request) TimeoutSeconds() (secs float64, integer, ok bool) {
	if r.Timeout == nil {
		return 0, false, false
	}
	f, err := r.Timeout.Float64()
	if err != nil || f <= 0 {
		return 0, false, false
	}
	s := r.Timeout.String()
	return f, !strings.ContainsAny(s, ".eE"), true
}

// reserved keys of a request, never part of the context or args.
const (
	keyMethod    = "method"
	keyArgs      = "args"
	keyNamespace = "namespace"
	keyVersion   = "version"
	keyUniqueID  = "_unique_id"
	keyMsgID     = "_msg_id"
	keyReplyQ    = "_reply_q"
	keyTimeout   = "_timeout"
)

// EncodeRequest returns the AMQP body of r: the request inside the 2.0
// envelope, keys in sorted order.
func EncodeRequest(r *Request) ([]byte, error) {
	// Error paths copy what they quote (strings.Clone): r must not escape,
	// so that a caller's request and its ContextMembers stay on its stack.
	if r.Method == "" {
		return nil, malformed("request has no method")
	}
	args := r.Args
	if len(bytes.TrimSpace(args)) == 0 {
		args = emptyObject
	}
	if !isJSONObject(args) {
		return nil, malformed("args of %q is not a JSON object: %s", strings.Clone(r.Method), clip(args))
	}
	if r.MsgID != "" && r.ReplyQ == "" {
		return nil, malformed("call %q has _msg_id but no _reply_q", strings.Clone(r.Method))
	}
	sp := scratchPool.Get().(*[]byte)
	b := append((*sp)[:0], '{')
	comma := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	// Sorted: every "_context_" key sorts before "_msg_id" ('c' < 'm'), and
	// every "_" key before the lower-case ones.
	appendMember := func(k string, v json.RawMessage) bool {
		comma()
		b = append(b, `"`+ContextPrefix...)
		b = appendStringBody(b, k)
		b = append(b, '"', ':')
		if v == nil {
			b = append(b, "null"...)
			return true
		}
		var ok bool
		b, ok = appendRaw(b, v)
		return ok
	}
	if r.ContextMembers != nil {
		slices.SortFunc(r.ContextMembers, func(a, b ContextMember) int { return strings.Compare(a.Key, b.Key) })
		for i, m := range r.ContextMembers {
			if i > 0 && m.Key == r.ContextMembers[i-1].Key {
				scratchPool.Put(sp)
				return nil, malformed("request %q: context key %q twice", strings.Clone(r.Method), strings.Clone(m.Key))
			}
			if !appendMember(m.Key, m.Value) {
				scratchPool.Put(sp)
				return nil, malformed("request %q: context %q is not valid JSON: %s", strings.Clone(r.Method), strings.Clone(m.Key), clip(m.Value))
			}
		}
	} else {
		var kbuf [16]string
		for _, k := range sortedKeys(r.Context, kbuf[:]) {
			if v := r.Context[k]; !appendMember(k, v) {
				scratchPool.Put(sp)
				return nil, malformed("request %q: context %q is not valid JSON: %s", strings.Clone(r.Method), strings.Clone(k), clip(v))
			}
		}
	}
	if r.MsgID != "" {
		comma()
		b = appendKey(b, keyMsgID)
		b = appendString(b, r.MsgID)
		b = append(b, ',')
		b = appendKey(b, keyReplyQ)
		b = appendString(b, r.ReplyQ)
		b = append(b, ',')
		b = appendKey(b, keyTimeout)
		if r.Timeout == nil {
			b = append(b, "null"...)
		} else {
			var ok bool
			if b, ok = appendNumber(b, *r.Timeout); !ok {
				scratchPool.Put(sp)
				return nil, malformed("request %q: %q is not a number: %q", strings.Clone(r.Method), keyTimeout, strings.Clone(string(*r.Timeout)))
			}
		}
	}
	if r.UniqueID != "" {
		comma()
		b = appendKey(b, keyUniqueID)
		b = appendString(b, r.UniqueID)
	}
	comma()
	b = appendKey(b, keyArgs)
	b, _ = appendRaw(b, args) // valid: checked above
	b = append(b, ',')
	b = appendKey(b, keyMethod)
	b = appendString(b, r.Method)
	if r.Namespace != "" {
		b = append(b, ',')
		b = appendKey(b, keyNamespace)
		b = appendString(b, r.Namespace)
	}
	if r.Version != "" {
		b = append(b, ',')
		b = appendKey(b, keyVersion)
		b = appendString(b, r.Version)
	}
	b = append(b, '}')
	return wrapScratch(sp, b), nil
}

var emptyObject = json.RawMessage("{}")

// DecodeRequest parses an AMQP body (2.0 envelope or legacy 1.0) into a
// Request. Errors wrap ErrMalformed and name the offending key.
func DecodeRequest(body []byte) (*Request, error) {
	var scratch [24]member
	if members, ok := unwrapFast(body, scratch[:0]); ok {
		if r, err := requestFrom(&fields{members: members}); err == nil {
			return r, nil
		}
	}
	return decodeRequestSlow(body)
}

// decodeRequestSlow is DecodeRequest on encoding/json alone: the reference
// the fast path falls back to, and is checked against.
func decodeRequestSlow(body []byte) (*Request, error) {
	m, _, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	return requestFrom(&fields{m: m})
}

func requestFrom(f *fields) (*Request, error) {
	r := &Request{}
	var err error
	raw, ok := f.get(keyMethod)
	if !ok {
		return nil, malformed("request has no %q key", keyMethod)
	}
	if r.Method, err = internString(raw); err != nil || r.Method == "" {
		return nil, malformed("request %q must be a non-empty string, got %s", keyMethod, clip(raw))
	}
	if raw, ok := f.get(keyArgs); ok && !isNull(raw) {
		if !startsObject(raw) {
			return nil, malformed("request %q of %q must be a JSON object, got %s", keyArgs, r.Method, clip(raw))
		}
		r.Args = compact(raw)
	} else {
		r.Args = json.RawMessage("{}")
	}
	if r.Namespace, err = optInternString(f, keyNamespace); err != nil {
		return nil, err
	}
	if r.Version, err = optInternString(f, keyVersion); err != nil {
		return nil, err
	}
	if r.Version != "" {
		if _, _, verr := ParseVersion(r.Version); verr != nil {
			return nil, malformed("request %q: %v", keyVersion, verr)
		}
	}
	if r.UniqueID, err = optString(f, keyUniqueID); err != nil {
		return nil, err
	}
	if r.MsgID, err = optString(f, keyMsgID); err != nil {
		return nil, err
	}
	if r.ReplyQ, err = optString(f, keyReplyQ); err != nil {
		return nil, err
	}
	if r.MsgID != "" && r.ReplyQ == "" {
		return nil, malformed("call %q has %q but no %q", r.Method, keyMsgID, keyReplyQ)
	}
	if r.MsgID == "" {
		r.ReplyQ = "" // a cast: oslo ignores a stray _reply_q
	}
	if raw, ok := f.get(keyTimeout); ok && !isNull(raw) && r.MsgID != "" {
		if t := bytes.TrimSpace(raw); len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
			return nil, malformed("request %q must be a number or null, got %s", keyTimeout, clip(raw))
		}
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return nil, malformed("request %q must be a number or null, got %s", keyTimeout, clip(raw))
		}
		r.Timeout = &n
	}
	if f.m != nil {
		for k, v := range f.m {
			if name, ok := strings.CutPrefix(k, ContextPrefix); ok {
				r.setContext(name, v)
			}
		}
		return r, nil
	}
	for _, m := range f.members { // in order: a later duplicate wins
		if name, ok := bytes.CutPrefix(m.key, []byte(ContextPrefix)); ok {
			r.setContext(contextKey(name), m.val)
		}
	}
	return r, nil
}

// contextKey returns name as a string, without an allocation for the keys
// oslo.context's to_dict (and nova's RequestContext) send with every
// message.
func contextKey(name []byte) string {
	if k, ok := knownContextKeys[string(name)]; ok { // no copy for the lookup
		return k
	}
	return string(name)
}

var knownContextKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"request_id", "global_request_id", "user_id", "project_id", "roles", "is_admin",
		"user", "tenant", "domain", "user_domain", "project_domain", "system_scope", "user_name", "project_name",
		"domain_name", "user_domain_name", "project_domain_name", "auth_token", "read_only", "show_deleted",
		"resource_uuid", "is_admin_project", "service_catalog", "remote_address", "timestamp", "quota_class",
		"read_deleted", "instance_lock_checked", "user_identity", "service_user_id", "service_project_id",
		"service_roles", "traceparent", "tracestate"} {
		m[k] = k
	}
	return m
}()

func (r *Request) setContext(name string, v json.RawMessage) {
	if r.Context == nil {
		r.Context = make(map[string]json.RawMessage, 8)
	}
	r.Context[name] = compact(v)
}

// ContextKeys returns the request-context keys in sorted order (for logs and
// deterministic tests).
func (r *Request) ContextKeys() []string {
	keys := make([]string, 0, len(r.Context))
	for k := range r.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func optString(f *fields, key string) (string, error) {
	raw, ok := f.get(key)
	if !ok || isNull(raw) {
		return "", nil
	}
	s, err := decodeString(raw)
	if err != nil {
		return "", malformed("%q must be a string or null, got %s", key, clip(raw))
	}
	return s, nil
}

// decodeString decodes a JSON string value. Most strings on the wire (method
// names, ids, versions) have no escapes and are taken as they are: a pass of
// encoding/json for each showed in the RPC server's profile. raw must come
// from a decoded document (so it is valid JSON).
func decodeString(raw json.RawMessage) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && plainString(raw[1:n-1]) {
		return string(raw[1 : n-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// plainString reports whether b, the inside of a JSON string, decodes to
// itself: no escapes, quotes or control characters, and valid UTF-8
// (encoding/json replaces invalid bytes).
func plainString(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b)
}

// startsObject reports whether raw, a value of a decoded (so valid) JSON
// document, is an object.
func startsObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) >= 2 && t[0] == '{'
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func isJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) >= 2 && t[0] == '{' && validJSON(t)
}

// compact returns raw without insignificant whitespace, so that a decoded
// request compares equal to itself after a round trip. raw is returned as it
// is when it holds no whitespace at all (Go peers; Python's json.dumps puts
// spaces after ',' and ':').
func compact(raw json.RawMessage) json.RawMessage {
	if !bytes.ContainsAny(raw, " \t\r\n") {
		return raw
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	}
	return b.Bytes()
}
