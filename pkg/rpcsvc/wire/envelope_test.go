package wire

import (
	"errors"
	"strings"
	"testing"
)

// A body with invalid UTF-8 is malformed (it would not survive re-encoding),
// including inside a value that is otherwise kept raw.
func TestInvalidUTF8IsMalformed(t *testing.T) {
	for _, body := range [][]byte{
		[]byte("{\"method\":\"0\",\"_context_\":[{\"\xfd\":[]}]}"),
		[]byte("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"method\\\": \\\"x\xff\\\"}\"}"),
	} {
		_, _, err := Unwrap(body)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("Unwrap(%q) = %v, want ErrMalformed naming UTF-8", body, err)
		}
	}
}
