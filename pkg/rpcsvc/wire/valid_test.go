package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

// validCases are documents at the edges of JSON's grammar, each checked
// against encoding/json's Valid (and seeding the fuzzer).
var validCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `[ ]`, `{"a":1}`, `{"a" : [1, 2 , {"b":null}] }`, `"x"`, `""`,
	`true`, `false`, `null`, `nul`, `truex`, `tru`, `nullnull`, `1 2`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`,
	`{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`, `[`, `{`, `]`, `}`, `[}`, `{]`, `{"a":[}`,
	`0`, `-0`, `01`, `-01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e5`, `1E-5`, `-`, `+1`, `1.5e3`, `0.0e0`, `-0.e1`, `123456789012345678901234567890`,
	`"\u00e9"`, `"\u00e"`, `"\u00eg"`, `"\x"`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, "\"\x01\"", "\"\x7f\"", "\"\xff\xfe\"", "\xff",
	"\t\r\n1\t\r\n", "\v1", "\u00a01", `"a`, `{"a\"b":1}`, `{"":""}`, `[[[[]]]]`, `[[[[]]]`, `[{"a":[{"b":{}}]}]`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	strings.Repeat("[", 70) + strings.Repeat("]", 70),
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.40q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

// FuzzValidMatchesEncodingJSON: validJSON accepts exactly what
// encoding/json's Valid accepts.
func FuzzValidMatchesEncodingJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	for _, s := range fastPathSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	body := []byte(pyCall)
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !validJSON(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

// TestPlainEndFindsEverySpecialByte puts each byte value at each offset of
// a few words: plainEnd must stop exactly at quotes, backslashes and control
// characters, and skip everything else, whether the word test or the byte
// loop sees it.
func TestPlainEndFindsEverySpecialByte(t *testing.T) {
	for c := range 256 {
		special := c == '"' || c == '\\' || c < 0x20
		for pos := range 27 {
			b := []byte(strings.Repeat("a", 27))
			b[pos] = byte(c)
			want := len(b)
			if special {
				want = pos
			}
			for from := 0; from <= pos; from += 3 {
				if got := plainEnd(b, from); got != want {
					t.Fatalf("byte %#x at %d, from %d: plainEnd = %d, want %d", c, pos, from, got, want)
				}
			}
		}
	}
}
