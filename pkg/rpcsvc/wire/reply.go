package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Reply is the answer to a call, or a keep-alive while the call runs.
type Reply struct {
	// MsgID is the `_msg_id` of the call being answered. Required.
	MsgID string
	// UniqueID is this reply's own `_unique_id`.
	UniqueID string
	// Result is the JSON result; nil encodes as null.
	Result json.RawMessage
	// Failure is set when the call raised; it is sent as JSON text.
	Failure *Failure
	// Ending is true on the final reply; a reply with Ending false, no result
	// and no failure is a keep-alive.
	Ending bool
}

// IsKeepAlive reports whether the reply only says "still working".
func (r *Reply) IsKeepAlive() bool {
	return !r.Ending && r.Failure == nil && (len(r.Result) == 0 || isNull(r.Result))
}

// Failure is a serialized exception, as oslo's serialize_remote_exception writes
// it: class, module, message, traceback lines, args and kwargs.
type Failure struct {
	Class     string          `json:"class"`
	Module    string          `json:"module"`
	Message   string          `json:"message"`
	Traceback []string        `json:"tb"`
	Args      json.RawMessage `json:"args"`
	Kwargs    json.RawMessage `json:"kwargs"`
}

// EncodeReply returns the AMQP body of r inside the 2.0 envelope.
func EncodeReply(r *Reply) ([]byte, error) {
	if r.MsgID == "" {
		return nil, malformed("reply has no _msg_id")
	}
	result := r.Result
	if len(bytes.TrimSpace(result)) == 0 {
		result = json.RawMessage("null")
	}
	if !validJSON(result) {
		return nil, malformed("reply result is not valid JSON: %s", clip(result))
	}
	var failure []byte // JSON text, sent as a string
	if r.Failure != nil {
		f := *r.Failure
		if len(f.Args) == 0 {
			f.Args = json.RawMessage("[]")
		}
		if len(f.Kwargs) == 0 {
			f.Kwargs = json.RawMessage("{}")
		}
		if f.Traceback == nil {
			f.Traceback = []string{}
		}
		txt, err := marshal(f)
		if err != nil {
			return nil, malformed("reply failure: %v", err)
		}
		failure = txt
	}
	sp := scratchPool.Get().(*[]byte)
	b := append((*sp)[:0], '{')
	b = appendKey(b, keyMsgID)
	b = appendString(b, r.MsgID)
	if r.UniqueID != "" {
		b = append(b, ',')
		b = appendKey(b, keyUniqueID)
		b = appendString(b, r.UniqueID)
	}
	b = append(b, `,"ending":`...)
	if r.Ending {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"failure":`...)
	if failure != nil {
		b = appendString(b, failure)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"result":`...)
	b, _ = appendRaw(b, result) // valid: checked above
	b = append(b, '}')
	return wrapScratch(sp, b), nil
}

// DecodeReply parses a reply body. `failure` may be JSON text (what oslo
// sends) or, leniently, an object.
func DecodeReply(body []byte) (*Reply, error) {
	var scratch [8]member
	if members, ok := unwrapFast(body, scratch[:0]); ok {
		if r, err := replyFrom(&fields{members: members}); err == nil {
			return r, nil
		}
	}
	return decodeReplySlow(body)
}

// decodeReplySlow is DecodeReply on encoding/json alone (see scan.go).
func decodeReplySlow(body []byte) (*Reply, error) {
	m, _, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	return replyFrom(&fields{m: m})
}

func replyFrom(f *fields) (*Reply, error) {
	var err error
	r := &Reply{}
	if r.MsgID, err = optString(f, keyMsgID); err != nil {
		return nil, err
	}
	if r.MsgID == "" {
		return nil, malformed("reply has no %q", keyMsgID)
	}
	if r.UniqueID, err = optString(f, keyUniqueID); err != nil {
		return nil, err
	}
	if raw, ok := f.get("result"); ok {
		r.Result = append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	}
	if raw, ok := f.get("ending"); ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &r.Ending); err != nil {
			return nil, malformed("reply %q must be a boolean, got %s", "ending", clip(raw))
		}
	}
	if raw, ok := f.get("failure"); ok && !isNull(raw) {
		if r.Failure, err = decodeFailure(raw); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func decodeFailure(raw json.RawMessage) (*Failure, error) {
	obj := bytes.TrimSpace(raw)
	if len(obj) > 0 && obj[0] == '"' {
		var txt string
		if err := json.Unmarshal(obj, &txt); err != nil {
			return nil, malformed("reply failure: %v", err)
		}
		obj = []byte(txt)
	}
	var fm map[string]json.RawMessage
	if err := json.Unmarshal(obj, &fm); err != nil || fm == nil {
		return nil, malformed("reply failure is not a JSON object: %s", clip(obj))
	}
	ff := &fields{m: fm}
	f := &Failure{}
	var err error
	if f.Class, err = optString(ff, "class"); err != nil {
		return nil, err
	}
	if f.Module, err = optString(ff, "module"); err != nil {
		return nil, err
	}
	if raw, ok := fm["message"]; ok && !isNull(raw) {
		// Python's str(exc) is a string; tolerate anything else as its JSON.
		if err := json.Unmarshal(raw, &f.Message); err != nil {
			f.Message = string(bytes.TrimSpace(raw))
		}
	}
	if raw, ok := fm["tb"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &f.Traceback); err != nil {
			return nil, malformed("reply failure %q must be a list of strings, got %s", "tb", clip(raw))
		}
	}
	if raw, ok := fm["args"]; ok {
		f.Args = append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	}
	if raw, ok := fm["kwargs"]; ok {
		f.Kwargs = append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	}
	if f.Class == "" {
		return nil, malformed("reply failure has no %q", "class")
	}
	return f, nil
}

// TracebackText joins the traceback lines as Python prints them.
func (f *Failure) TracebackText() string {
	var b strings.Builder
	for _, l := range f.Traceback {
		b.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// String is "module.Class: message".
func (f *Failure) String() string {
	if f.Module == "" {
		return fmt.Sprintf("%s: %s", f.Class, f.Message)
	}
	return fmt.Sprintf("%s.%s: %s", f.Module, f.Class, f.Message)
}
