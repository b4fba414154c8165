package wsgi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Messages of the faults DecodeJSON returns, as nova words them.
const (
	// MsgMalformedBody is nova's answer to a body that is not JSON.
	MsgMalformedBody = "Malformed request body"
	// MsgUnsupportedContentType is nova's answer to a body that is not JSON
	// by its Content-Type.
	MsgUnsupportedContentType = "Unsupported Content-Type"
)

// DecodeOptions tunes DecodeJSON.
type DecodeOptions struct {
	// Strict refuses keys the target does not declare, as nova's JSON
	// schemas do with additionalProperties: false (at any depth: Go cannot
	// relax it per object).
	Strict bool
	// MaxBytes caps the body when > 0. Bodies served by a Service are
	// already capped by Options.MaxRequestBodySize, and an overflow of that
	// cap is the same 413; MaxBytes is for routes that want a lower cap.
	MaxBytes int64
}

// DecodeJSON reads r's JSON body into v (a non-nil pointer). Every failure
// the client caused comes back as a *fault.Error with nova's wording:
//
//   - 415 "Unsupported Content-Type" for a Content-Type other than JSON
//     (none, empty and text/plain are accepted, as nova accepts them);
//   - 413 overLimit when the body is larger than the cap;
//   - 400 "Malformed request body" when the body is not one JSON value;
//   - 400 "None is not of type 'object'" for an empty or null body;
//   - 400 "Invalid input for field/attribute F. Value: V. V is not of type
//     'T'" for a value of the wrong type, as nova's JSON-schema validation
//     says it;
//   - 400 "Additional properties are not allowed ('k' was unexpected)" for
//     an unknown key when opts.Strict.
//
// An error a field's UnmarshalJSON returns is passed on if it is a
// *fault.Error, and is a 400 otherwise. Only a bad v is a plain error.
//
//	var body struct {
//		Status         *string `json:"status"`
//		DisabledReason *string `json:"disabled_reason"`
//	}
//	if err := wsgi.DecodeJSON(r, &body, wsgi.DecodeOptions{Strict: true}); err != nil {
//		fault.Write(w, r, err)
//		return
//	}
func DecodeJSON(r *http.Request, v any, opts DecodeOptions) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("wsgi: DecodeJSON needs a non-nil pointer, got %T", v)
	}
	if ct := r.Header.Get("Content-Type"); !jsonContentType(ct) {
		return &fault.Error{Code: http.StatusUnsupportedMediaType, Message: MsgUnsupportedContentType,
			Err: fmt.Errorf("content type %q", ct)}
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	if opts.MaxBytes > 0 {
		if r.ContentLength > opts.MaxBytes {
			return tooLarge(opts.MaxBytes)
		}
		body = http.MaxBytesReader(nil, body, opts.MaxBytes)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return &fault.Error{Code: http.StatusBadRequest, Message: MsgMalformedBody, Err: err}
	}
	return decodeBytes(data, v, opts.Strict)
}

func tooLarge(limit int64) *fault.Error {
	return fault.Newf(http.StatusRequestEntityTooLarge,
		"Request is too large. Larger than max_request_body_size (%d).", limit)
}

// jsonContentType reports whether nova would parse a body of this type as
// JSON (nova's get_content_type treats none and text/plain as unspecified).
func jsonContentType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/vnd.openstack.compute+v1.1+json", "text/plain":
		return true
	}
	return false
}

func decodeBytes(data []byte, v any, strict bool) error {
	target := reflect.TypeOf(v).Elem()
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return fault.Newf(http.StatusBadRequest, "None is not of type %s", PyRepr(schemaType(target)))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return &fault.Error{Code: http.StatusBadRequest, Message: MsgMalformedBody,
				Err: errors.New("data after the JSON value")}
		}
		// A NUL can only arrive escaped; most bodies skip the walk.
		if bytes.Contains(data, []byte(`\u0000`)) {
			if field, found := findNUL(reflect.ValueOf(v), ""); found {
				return fault.Newf(http.StatusBadRequest,
					"Invalid input for field/attribute %s. Value contains a NUL character, which is not allowed.", field)
			}
		}
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		inv *json.InvalidUnmarshalError
		fe  *fault.Error
	)
	switch {
	case errors.As(err, &inv):
		return err
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), !json.Valid(data):
		return &fault.Error{Code: http.StatusBadRequest, Message: MsgMalformedBody, Err: err}
	case errors.As(err, &typ):
		return typeFault(data, typ)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		return &fault.Error{Code: http.StatusBadRequest, Err: err,
			Message: fmt.Sprintf("Additional properties are not allowed (%s was unexpected)", PyRepr(name))}
	}
	return &fault.Error{Code: http.StatusBadRequest, Message: "Invalid input: " + err.Error(), Err: err}
}

// findNUL returns the name of the first field (or map key) below v whose
// string holds a NUL character: Postgres's text and jsonb refuse it, so the
// request is refused here, for every body, instead of failing in a store.
func findNUL(v reflect.Value, name string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findNUL(v.Elem(), name)
	case reflect.String:
		return name, strings.IndexByte(v.String(), 0) >= 0
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fname := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				fname = tag
			}
			if got, ok := findNUL(v.Field(i), fname); ok {
				return got, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			if k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				return name, true
			}
			kname := name
			if k.Kind() == reflect.String {
				kname = k.String()
			}
			if got, ok := findNUL(it.Value(), kname); ok {
				return got, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if got, ok := findNUL(v.Index(i), name); ok {
				return got, true
			}
		}
	}
	return "", false
}

// typeFault words a type mismatch as nova's schema validation does.
func typeFault(data []byte, e *json.UnmarshalTypeError) *fault.Error {
	want := PyRepr(schemaType(e.Type))
	if e.Field == "" {
		var whole any
		_ = unmarshalNumbers(data, &whole)
		return &fault.Error{Code: http.StatusBadRequest, Err: e,
			Message: fmt.Sprintf("%s is not of type %s", PyRepr(whole), want)}
	}
	path := strings.Split(e.Field, ".")
	var whole any
	val, found := any(nil), false
	if unmarshalNumbers(data, &whole) == nil {
		val, found = lookup(whole, path)
	}
	name := path[len(path)-1]
	if arr, ok := val.([]any); found && ok && schemaType(e.Type) != "array" {
		// encoding/json's path stops at the array; find the element, as
		// jsonschema names it by its index.
		found = false
		for i, el := range arr {
			raw, _ := json.Marshal(el)
			if json.Unmarshal(raw, reflect.New(e.Type).Interface()) != nil {
				name, val, found = strconv.Itoa(i), el, true
				break
			}
		}
	}
	if !found {
		// The value sits in an array the path does not index: describe it.
		return &fault.Error{Code: http.StatusBadRequest, Err: e,
			Message: fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. %s is not of type %s",
				name, e.Value, e.Value, want)}
	}
	return &fault.Error{Code: http.StatusBadRequest, Err: e,
		Message: fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. %s is not of type %s",
			name, PyStr(val), PyRepr(val), want)}
}

func unmarshalNumbers(data []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// lookup follows a dotted path of object keys; it gives up at arrays.
func lookup(v any, path []string) (any, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// schemaType names a Go type as JSON schema does.
func schemaType(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "object"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

// PyStr formats v as Python's str() does for a decoded JSON value: what
// nova's validation messages show for a value.
func PyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return PyRepr(v)
}

// PyRepr formats v as Python's repr() does for a decoded JSON value, so
// that messages read as nova's. Integral numbers print as Python ints (JSON
// numbers decode to float64). Object keys are sorted (Python keeps the
// body's order; Go's maps do not).
func PyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return x.String()
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return pyQuote(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = PyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyQuote(k) + ": " + PyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// pyQuote is Python's repr of a str: single quotes unless the text holds a
// single quote and no double quote; non-printable characters escaped.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case !unicode.IsPrint(r) && r != ' ':
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
