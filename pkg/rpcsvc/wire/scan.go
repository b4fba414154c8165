package wire

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeRequest's fast path. Unwrap followed by a decode into
// map[string]json.RawMessage runs encoding/json three times over a message
// (the envelope object, the oslo.message string, the inner object), each a
// validation scan plus a decode that copies every key and value. The fast path
// validates each layer once (validJSON) and walks the members in place:
// values are sub-slices of one unescaped copy of the inner message.
//
// It only ever accepts. Whatever it does not handle (a legacy message, an
// escape in a key, an error of any kind) goes to the encoding/json path, which
// decides, so errors and results are that path's
// (FuzzFastPathMatchesEncodingJSON checks it).

// member is one key and raw value of a JSON object, as sub-slices of the
// document, without the key's quotes or the value's surrounding whitespace.
type member struct {
	key []byte
	val json.RawMessage
}

// fields are the members of a decoded message: from encoding/json's map
// (slow path) or from the fast path's scan. Later duplicates win in both, as
// in encoding/json's map decoding.
type fields struct {
	m       map[string]json.RawMessage
	members []member
}

func (f *fields) get(key string) (json.RawMessage, bool) {
	if f.m != nil {
		v, ok := f.m[key]
		return v, ok
	}
	for i := len(f.members) - 1; i >= 0; i-- {
		if string(f.members[i].key) == key {
			return f.members[i].val, true
		}
	}
	return nil, false
}

// unwrapFast returns the members of the inner message of a 2.0 envelope, or
// ok false when the encoding/json path must decide.
func unwrapFast(body []byte, scratch []member) (inner []member, ok bool) {
	if !utf8.Valid(body) || !validJSON(body) {
		return nil, false
	}
	var top [4]member
	outer, ok := objectMembers(body, top[:0])
	if !ok {
		return nil, false
	}
	var rawVer, rawMsg json.RawMessage
	for _, m := range outer {
		switch string(m.key) {
		case VersionKey:
			rawVer = m.val
		case MessageKey:
			rawMsg = m.val
		}
	}
	if rawVer == nil || rawMsg == nil {
		return nil, false // legacy, or absent keys
	}
	ver, err := decodeString(rawVer)
	if err != nil || !compatibleEnvelope(ver) {
		return nil, false
	}
	text, ok := unquote(rawMsg)
	if !ok || !validJSON(text) {
		return nil, false
	}
	return objectMembers(text, scratch)
}

// objectMembers appends the members of doc, a valid JSON document (per
// validJSON), to dst. ok is false when doc is not an object or a key holds
// an escape.
func objectMembers(doc []byte, dst []member) ([]member, bool) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return dst, true
	}
	for i < len(doc) && doc[i] == '"' {
		end, escaped := stringEnd(doc, i)
		if escaped || end < 0 {
			return nil, false
		}
		key := doc[i+1 : end-1]
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipSpace(doc, i+1)
		vend := valueEnd(doc, i)
		if vend < 0 {
			return nil, false
		}
		dst = append(dst, member{key: key, val: doc[i:vend:vend]})
		i = skipSpace(doc, vend)
		if i >= len(doc) {
			return nil, false
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case '}':
			return dst, true
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string at b[i],
// and whether it holds an escape; -1 if it does not end.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		if j = plainEnd(b, j); j >= len(b) {
			break
		}
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// valueEnd returns the index after the value starting at b[i] of a valid
// document; -1 if it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// unquote decodes the JSON string raw (quotes included) of a valid document
// as encoding/json does: \u escapes included, a surrogate that is not half
// of a valid pair becoming U+FFFD.
func unquote(raw []byte) ([]byte, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return nil, false
	}
	s := raw[1 : n-1]
	out := make([]byte, 0, len(s))
	for {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(out, s...), true
		}
		out = append(out, s[:k]...)
		if k+1 >= len(s) {
			return nil, false
		}
		s = s[k:]
		switch s[1] {
		case '"', '\\', '/':
			out = append(out, s[1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			rr := getu4(s)
			if rr < 0 {
				return nil, false
			}
			s = s[6:]
			if utf16.IsSurrogate(rr) {
				if dec := utf16.DecodeRune(rr, getu4(s)); dec != unicode.ReplacementChar {
					out = utf8.AppendRune(out, dec)
					s = s[6:]
					continue
				}
				rr = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, rr)
			continue
		default:
			return nil, false
		}
		s = s[2:]
	}
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
