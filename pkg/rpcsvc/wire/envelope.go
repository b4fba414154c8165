package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Envelope keys and the envelope version this package writes and accepts.
const (
	VersionKey      = "oslo.version"
	MessageKey      = "oslo.message"
	EnvelopeVersion = "2.0"
)

// ErrMalformed is wrapped by every decoding error of this package, so a caller
// can tell "the peer sent garbage" (dead-letter it) from other failures.
var ErrMalformed = errors.New("malformed oslo.messaging message")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Wrap puts a message (a JSON object, as text) into the 2.0 envelope:
// {"oslo.version": "2.0", "oslo.message": "<msg as a JSON string>"}.
func Wrap(msg []byte) ([]byte, error) {
	env := struct {
		Version string `json:"oslo.version"`
		Message string `json:"oslo.message"`
	}{EnvelopeVersion, string(msg)}
	return marshal(env)
}

// Unwrap returns the message (a JSON object as text) carried by a body. A body
// with both envelope keys must carry version 2.x and a JSON object text; a body
// that is a JSON object lacking either key is a legacy 1.0 message and is
// returned whole, with legacy set.
func Unwrap(body []byte) (msg map[string]json.RawMessage, legacy bool, err error) {
	// Messages are sent with content_encoding utf-8, and JSON text must be
	// UTF-8: invalid bytes would be kept in raw values and silently replaced
	// when the message is encoded again (a relayed message would change).
	if !utf8.Valid(body) {
		return nil, false, malformed("body is not valid UTF-8 (content_encoding is utf-8)")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, malformed("body is not a JSON object: %v", err)
	}
	if top == nil {
		return nil, false, malformed("body is JSON null, not an object")
	}
	rawVer, hasVer := top[VersionKey]
	rawMsg, hasMsg := top[MessageKey]
	if !hasVer || !hasMsg {
		return top, true, nil
	}
	ver, err := decodeString(rawVer)
	if err != nil {
		return nil, false, malformed("%q is not a string: %s", VersionKey, clip(rawVer))
	}
	if !compatibleEnvelope(ver) {
		return nil, false, malformed("unsupported envelope %q %q (this peer speaks %s)", VersionKey, ver, EnvelopeVersion)
	}
	var text string
	if err := json.Unmarshal(rawMsg, &text); err != nil {
		return nil, false, malformed("%q is not a JSON string: %s", MessageKey, clip(rawMsg))
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &inner); err != nil {
		return nil, false, malformed("%q does not hold a JSON object: %v", MessageKey, err)
	}
	if inner == nil {
		return nil, false, malformed("%q holds JSON null, not an object", MessageKey)
	}
	return inner, false, nil
}

// compatibleEnvelope follows oslo's version_is_compatible against "2.0": same
// major, and a minor the reader knows (0).
func compatibleEnvelope(v string) bool {
	maj, min, err := ParseVersion(v)
	return err == nil && maj == 2 && min == 0
}

// clip shortens raw JSON for error messages.
func clip(b []byte) string {
	const max = 80
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// marshal is json.Marshal without HTML escaping: Python's json.dumps writes
// "<", ">" and "&" as they are, and so does this package.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
