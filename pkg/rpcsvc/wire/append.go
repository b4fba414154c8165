package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"unicode/utf8"
)

// The encoders write the envelope by hand. encoding/json on a
// map[string]any cost about 45 allocations per request (a boxed value per
// key, reflection over the map, a sort, two buffers and the envelope's
// second pass); these append into one pooled scratch buffer and allocate
// only the body. The output is byte for byte what encoding/json wrote
// (keys sorted, no HTML escaping): TestEncodersMatchEncodingJSON checks it.

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// wrapScratch returns the 2.0 envelope around inner (a JSON object text) as
// a new slice, and puts the scratch buffer back.
func wrapScratch(sp *[]byte, inner []byte) []byte {
	const head, tail = `{"oslo.version":"` + EnvelopeVersion + `","oslo.message":"`, `"}`
	out := make([]byte, 0, len(head)+len(inner)+len(inner)/8+16+len(tail))
	out = append(out, head...)
	out = appendStringBody(out, inner)
	out = append(out, tail...)
	if cap(inner) <= 64<<10 { // a huge one is not kept
		*sp = inner[:0]
		scratchPool.Put(sp)
	}
	return out
}

// appendString appends s as a JSON string, as encoding/json writes it with
// SetEscapeHTML(false).
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

func appendStringBody[S ~string | ~[]byte](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := len(s) - i
		if n > utf8.UTFMax {
			n = utf8.UTFMax
		}
		c, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendRaw appends raw, a JSON value, compacted as encoding/json writes a
// json.RawMessage; ok is false when raw is not valid JSON.
func appendRaw(dst []byte, raw []byte) ([]byte, bool) {
	if !validJSON(raw) {
		return dst, false
	}
	if !bytes.ContainsAny(raw, " \t\r\n") {
		return append(dst, raw...), true
	}
	b := bytes.NewBuffer(dst)
	if err := json.Compact(b, raw); err != nil {
		return dst, false
	}
	return b.Bytes(), true
}

// appendNumber appends a json.Number as encoding/json does ("" is 0); ok is
// false when it is not a JSON number.
func appendNumber(dst []byte, n json.Number) ([]byte, bool) {
	s := string(n)
	if s == "" {
		return append(dst, '0'), true
	}
	if c := s[0]; (c != '-' && (c < '0' || c > '9')) || !validNumber(s) {
		return dst, false
	}
	return append(dst, s...), true
}

// validNumber is encoding/json's isValidNumber.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}

// sortedKeys returns the keys of m in byte order, in buf when it is large
// enough.
func sortedKeys(m map[string]json.RawMessage, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendKey appends "key": for a key of plain characters.
func appendKey(dst []byte, key string) []byte {
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}
