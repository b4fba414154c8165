package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// This file holds the small JSON-schema subset nova's request schemas use,
// worded as nova's validator words its 400s ("Invalid input for
// field/attribute F. Value: V. <jsonschema message>").

// decodeObject reads a JSON object body.
func (h *handlers) decodeObject(r *http.Request) (map[string]any, error) {
	var m map[string]any
	if err := wsgi.DecodeJSON(r, &m, wsgi.DecodeOptions{}); err != nil {
		return nil, err
	}
	return m, nil
}

// invalidField is nova's 400 for a value that fails its schema.
func invalidField(name string, value any, msg string) *fault.Error {
	return fault.Newf(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: %s. %s", name, wsgi.PyStr(value), msg)
}

// invalidQuery is nova's 400 for a query parameter that fails its schema.
func invalidQuery(name, value, msg string) *fault.Error {
	return fault.Newf(http.StatusBadRequest, "Invalid input for query parameters %s. Value: %s. %s", name, value, msg)
}

// checkObject is the "type: object" check of the value under name; the
// top-level body (name "") reports without a field.
func checkObject(name string, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		msg := fmt.Sprintf("%s is not of type 'object'", wsgi.PyRepr(v))
		if name == "" {
			return nil, fault.BadRequest(msg)
		}
		return nil, invalidField(name, v, msg)
	}
	return m, nil
}

// checkKeys applies required and additionalProperties: false to obj, found
// under name ("" for the body itself). Python's jsonschema reports a
// missing required key before unexpected ones.
func checkKeys(name string, obj map[string]any, required []string, allowed ...string) error {
	wrap := func(msg string) error {
		if name == "" {
			return fault.BadRequest(msg)
		}
		return invalidField(name, obj, msg)
	}
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			return wrap(fmt.Sprintf("%s is a required property", wsgi.PyRepr(k)))
		}
	}
	var extra []string
	for k := range obj {
		if !slices.Contains(allowed, k) && !slices.Contains(required, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return wrap(additionalProperties(extra))
}

// stringRule is a string schema: type string with length bounds (in code
// points, as Python counts), an optional pattern and enum.
type stringRule struct {
	min, max int // max 0: unbounded
	pattern  *regexp.Regexp
	patText  string
	enum     []string
}

// check validates v under name and returns the string.
func (s stringRule) check(name string, v any) (string, error) {
	str, ok := v.(string)
	if !ok {
		return "", invalidField(name, v, fmt.Sprintf("%s is not of type 'string'", wsgi.PyRepr(v)))
	}
	if s.enum != nil && !slices.Contains(s.enum, str) {
		q := make([]string, len(s.enum))
		for i, e := range s.enum {
			q[i] = wsgi.PyRepr(e)
		}
		return "", invalidField(name, v, fmt.Sprintf("%s is not one of [%s]", wsgi.PyRepr(str), strings.Join(q, ", ")))
	}
	n := utf8.RuneCountInString(str)
	if n < s.min {
		return "", invalidField(name, v, fmt.Sprintf("%s is too short", wsgi.PyRepr(str)))
	}
	if s.max > 0 && n > s.max {
		return "", invalidField(name, v, fmt.Sprintf("%s is too long", wsgi.PyRepr(str)))
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		return "", invalidField(name, v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(str), wsgi.PyRepr(s.patText)))
	}
	return str, nil
}

const fqdnPattern = `^[a-zA-Z0-9-._]*$`

var (
	// nova's parameter_types.fqdn
	fqdnRule = stringRule{min: 1, max: 255, pattern: regexp.MustCompile(fqdnPattern), patText: fqdnPattern}
	// a plain string of 1..255 (binary, disabled_reason)
	shortRule = stringRule{min: 1, max: 255}
)

// booleanValues is nova's parameter_types.boolean enum, in its order.
var booleanValues = []any{true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
	false, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"}

// checkBoolean validates nova's parameter_types.boolean and converts it as
// oslo's bool_from_string does.
func checkBoolean(name string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		for i, b := range booleanValues {
			if b == x {
				return i < 11, nil
			}
		}
		q := make([]string, len(booleanValues))
		for i, b := range booleanValues {
			q[i] = wsgi.PyRepr(b)
		}
		return false, invalidField(name, v, fmt.Sprintf("%s is not one of [%s]", wsgi.PyRepr(x), strings.Join(q, ", ")))
	}
	return false, invalidField(name, v, fmt.Sprintf("%s is not of type 'boolean', 'string'", wsgi.PyRepr(v)))
}

// uuidLike is oslo's uuidutils.is_uuid_like (which nova's 'uuid' schema
// format uses too), returning the canonical form of what it accepts: s
// without any "urn:" and "uuid:", the braces at either end and every
// hyphen, must be 32 hexadecimal digits of either case.
func uuidLike(s string) (string, bool) {
	f := strings.ReplaceAll(s, "urn:", "")
	f = strings.ReplaceAll(f, "uuid:", "")
	f = strings.ReplaceAll(strings.Trim(f, "{}"), "-", "")
	if len(f) != 32 {
		return "", false
	}
	u, err := uuid.Parse(f)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

const (
	nonNegativePattern = `^[0-9]*$`
	signedPattern      = `^-?[0-9]+$`
)

var integerPatterns = map[string]*regexp.Regexp{
	nonNegativePattern: regexp.MustCompile(nonNegativePattern),
	signedPattern:      regexp.MustCompile(signedPattern),
}

// checkIntegerish validates {'type': ['integer', 'string', (null)],
// 'pattern': '^-?[0-9]+$' | '^[0-9]*$', 'minimum': min}: integers and
// strings of digits, as nova's limit and length parameters. nil is
// returned for null when allowNull.
func checkIntegerish(name string, v any, allowNull, allowNegative bool, minimum int64) (*int64, error) {
	var n int64
	types := "'integer', 'string'"
	if allowNull {
		types += ", 'null'"
	}
	pat := nonNegativePattern
	if allowNegative {
		pat = signedPattern
	}
	switch x := v.(type) {
	case nil:
		if allowNull {
			return nil, nil
		}
		return nil, invalidField(name, v, fmt.Sprintf("None is not of type %s", types))
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return nil, invalidField(name, v, fmt.Sprintf("%s is not of type %s", wsgi.PyRepr(v), types))
		}
		if x < float64(minimum) {
			return nil, invalidField(name, v, fmt.Sprintf("%s is less than the minimum of %d", wsgi.PyRepr(v), minimum))
		}
		if x > math.MaxInt32 {
			x = math.MaxInt32
		}
		n = int64(x)
	case string:
		if !integerPatterns[pat].MatchString(x) || x == "" {
			return nil, invalidField(name, v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(x), wsgi.PyRepr(pat)))
		}
		p, err := strconv.ParseInt(x, 10, 64)
		if err != nil { // too many digits: clamp, as a huge length means "all"
			p = math.MaxInt32
			if strings.HasPrefix(x, "-") {
				p = math.MinInt32
			}
		}
		if p < minimum {
			return nil, invalidField(name, v, fmt.Sprintf("%s is less than the minimum of %d", wsgi.PyRepr(x), minimum))
		}
		n = p
	default:
		return nil, invalidField(name, v, fmt.Sprintf("%s is not of type %s", wsgi.PyRepr(v), types))
	}
	return &n, nil
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // views are plain data; this is a programming error
		panic(fmt.Sprintf("api: marshal response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
