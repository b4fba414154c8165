package ovo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Header is what a primitive says about itself.
type Header struct {
	Name      string
	Namespace string
	Version   string
	// Changes is "<ns>.changes", restricted to fields of the class (as oslo).
	Changes []string
}

// Unmarshal decodes the JSON of a primitive into a new value of the Go type
// registered for the primitive's class; it returns a pointer to that struct.
func (r *Registry) Unmarshal(b []byte) (any, Header, error) {
	p, err := parseJSON(b)
	if err != nil {
		return nil, Header{}, err
	}
	return r.Decode(p)
}

// UnmarshalInto decodes the JSON of a primitive into dst, a pointer to a
// registered struct; the primitive must be of dst's class.
func (r *Registry) UnmarshalInto(b []byte, dst any) (Header, error) {
	p, err := parseJSON(b)
	if err != nil {
		return Header{}, err
	}
	return r.DecodeInto(p, dst)
}

func parseJSON(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("ovo: %w: %v", ErrMalformed, err)
	}
	if d.More() {
		return nil, fmt.Errorf("ovo: %w: data after the object", ErrMalformed)
	}
	p, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("ovo: %w: not a JSON object", ErrMalformed)
	}
	return p, nil
}

// Decode is oslo's obj_from_primitive: p (JSON decoded with UseNumber, or
// plain Go numbers) becomes a new value of the registered Go type.
//
// An unknown class, another namespace, another major version, or a newer
// minor carrying fields this side does not know is an error naming the
// object and the version; an older or equal minor decodes, a field it does not
// carry taking its default (or the Go zero value).
func (r *Registry) Decode(p map[string]any) (any, Header, error) {
	h, e, err := r.header(p)
	if err != nil {
		return nil, h, topErr(err)
	}
	dst := reflect.New(e.typ)
	if err := r.decodeData(e, h, p, dst.Elem()); err != nil {
		return nil, h, err
	}
	return dst.Interface(), h, nil
}

// DecodeInto is Decode into dst, a pointer to a registered struct.
func (r *Registry) DecodeInto(p map[string]any, dst any) (Header, error) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return Header{}, fmt.Errorf("ovo: decode into %T: not a non-nil pointer", dst)
	}
	rv = rv.Elem()
	want := r.entryByType(rv.Type())
	if want == nil {
		return Header{}, fmt.Errorf("ovo: decode: %w: Go type %s is not registered", ErrUnknownObject, rv.Type())
	}
	h, e, err := r.header(p)
	if err != nil {
		return h, topErr(err)
	}
	if e != want {
		return h, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: want a %s", ErrUnknownObject, want.class.Name)}
	}
	rv.SetZero()
	return h, r.decodeData(e, h, p, rv)
}

// topErr prefixes a header error that is not an *Error (which prints its own).
func topErr(err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	return fmt.Errorf("ovo: %w", err)
}

func (r *Registry) header(p map[string]any) (Header, *entry, error) {
	var h Header
	str := func(key string) (string, error) {
		v, ok := p[key]
		if !ok {
			return "", fmt.Errorf("%w: no %q", ErrMalformed, key)
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%w: %q is a %s, not a string", ErrMalformed, key, jsonKind(v))
		}
		return s, nil
	}
	var err error
	if h.Name, err = str(r.keyName); err != nil {
		return h, nil, err
	}
	if h.Namespace, err = str(r.keyNamespace); err != nil {
		return h, nil, err
	}
	if h.Version, err = str(r.keyVersion); err != nil {
		return h, nil, err
	}
	if h.Namespace != r.ns.Project {
		return h, nil, &Error{Object: h.Namespace + "." + h.Name, Version: h.Version, Err: fmt.Errorf("%w: namespace %q is not %q", ErrUnknownObject, h.Namespace, r.ns.Project)}
	}
	e := r.entryByName(h.Name)
	if e == nil {
		return h, nil, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: no class %s is registered", ErrUnknownObject, h.Name)}
	}
	v, err := ParseVersion(h.Version)
	if err != nil {
		return h, nil, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	if v.Major != e.version.Major {
		return h, nil, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: this side has %s", ErrIncompatibleVersion, e.version)}
	}
	if _, ok := p[r.keyData].(map[string]any); !ok {
		return h, nil, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: %q is missing or not an object", ErrMalformed, r.keyData)}
	}
	if c, ok := p[r.keyChg]; ok && c != nil {
		list, ok := c.([]any)
		if !ok {
			return h, nil, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: %q is not a list", ErrMalformed, r.keyChg)}
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return h, nil, &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: %q holds a %s", ErrMalformed, r.keyChg, jsonKind(x))}
			}
			if _, known := e.byName[s]; known && !slices.Contains(h.Changes, s) {
				h.Changes = append(h.Changes, s)
			}
		}
	}
	return h, e, nil
}

func (r *Registry) decodeData(e *entry, h Header, p map[string]any, dst reflect.Value) error {
	data := p[r.keyData].(map[string]any)
	if v, _ := ParseVersion(h.Version); v.Compare(e.version) > 0 {
		var unknown []string
		for k := range data {
			if _, ok := e.byName[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return &Error{Object: h.Name, Version: h.Version, Err: fmt.Errorf("%w: newer than %s and carries fields %s does not know: %s",
				ErrIncompatibleVersion, e.version, e.version, strings.Join(unknown, ", "))}
		}
	}
	for i := range e.fields {
		f := &e.fields[i]
		raw, ok := data[f.Name]
		if !ok || (raw == nil && !f.Nullable) {
			if f.HasDefault {
				raw, ok = f.Default, true
			} else if raw == nil && ok {
				return &Error{Object: h.Name, Version: h.Version, Field: f.Name, Err: fmt.Errorf("%w: null for a field that is not nullable", ErrInvalid)}
			}
		}
		if !ok {
			continue
		}
		if err := r.decodeValue(f.Type, f.Nullable, raw, dst.FieldByIndex(f.index)); err != nil {
			return &Error{Object: h.Name, Version: h.Version, Field: f.Name, Err: err}
		}
	}
	return nil
}

// decodeValue sets dst from primitive p for type t. r may be nil when t holds
// no objects.
func (r *Registry) decodeValue(t Type, nullable bool, p any, dst reflect.Value) error {
	if p == nil {
		if !nullable {
			return fmt.Errorf("%w: null for a value that is not nullable", ErrInvalid)
		}
		dst.SetZero()
		return nil
	}
	switch t.Kind {
	case KindList:
		list, ok := p.([]any)
		if !ok {
			return fmt.Errorf("%w: a list is required, not a %s", ErrInvalid, jsonKind(p))
		}
		s := reflect.MakeSlice(dst.Type(), len(list), len(list))
		for i, x := range list {
			if err := r.decodeValue(*t.Elem, t.ElemNullable, x, s.Index(i)); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		dst.Set(s)
		return nil
	case KindDict:
		m, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: a dict is required, not a %s", ErrInvalid, jsonKind(p))
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		et := dst.Type().Elem()
		for k, x := range m {
			ev := reflect.New(et).Elem()
			if err := r.decodeValue(*t.Elem, t.ElemNullable, x, ev); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
		}
		dst.Set(out)
		return nil
	case KindObject:
		m, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: an object of type %s is required, not a %s", ErrInvalid, t.Object, jsonKind(p))
		}
		if r == nil {
			return fmt.Errorf("%w: object outside a registry", ErrInvalid)
		}
		target := dst
		if dst.Kind() == reflect.Pointer {
			target = reflect.New(dst.Type().Elem()).Elem()
		}
		h, e, err := r.header(m)
		if err != nil {
			return err
		}
		if e.typ != target.Type() || h.Name != t.Object {
			return fmt.Errorf("%w: an object of type %s is required, not a %s", ErrInvalid, t.Object, h.Name)
		}
		if err := r.decodeData(e, h, m, target); err != nil {
			return err
		}
		if dst.Kind() == reflect.Pointer {
			dst.Set(target.Addr())
		}
		return nil
	}
	if dst.Kind() == reflect.Pointer {
		v := reflect.New(dst.Type().Elem())
		if err := decodeScalar(t, p, v.Elem()); err != nil {
			return err
		}
		dst.Set(v)
		return nil
	}
	return decodeScalar(t, p, dst)
}

func decodeScalar(t Type, p any, dst reflect.Value) error {
	switch t.Kind {
	case KindInteger:
		n, err := asInt(p)
		if err != nil {
			return err
		}
		switch dst.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n < 0 || dst.OverflowUint(uint64(n)) {
				return fmt.Errorf("%w: %d does not fit a %s", ErrInvalid, n, dst.Type())
			}
			dst.SetUint(uint64(n))
		default:
			if dst.OverflowInt(n) {
				return fmt.Errorf("%w: %d does not fit a %s", ErrInvalid, n, dst.Type())
			}
			dst.SetInt(n)
		}
		return nil
	case KindFloat:
		f, err := asFloat(p)
		if err != nil {
			return err
		}
		if dst.OverflowFloat(f) {
			return fmt.Errorf("%w: %v does not fit a %s", ErrInvalid, f, dst.Type())
		}
		dst.SetFloat(f)
		return nil
	case KindBoolean:
		b, ok := p.(bool)
		if !ok {
			return fmt.Errorf("%w: a boolean is required, not a %s", ErrInvalid, jsonKind(p))
		}
		dst.SetBool(b)
		return nil
	}
	s, ok := p.(string)
	if !ok {
		return fmt.Errorf("%w: a string is required, not a %s", ErrInvalid, jsonKind(p))
	}
	if t.Kind == KindDateTime {
		tm, err := ParseTime(s)
		if err != nil {
			return err
		}
		dst.Set(reflect.ValueOf(tm))
		return nil
	}
	s, err := checkString(t, s)
	if err != nil {
		return err
	}
	dst.SetString(s)
	return nil
}

// asInt accepts a JSON integer (or an integral number such as 1.0 or 1e3,
// which Python's int() takes too); a fraction is an error rather than
// truncated.
func asInt(p any) (int64, error) {
	switch n := p.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s is not an integer in range", ErrInvalid, n)
		}
		return floatToInt(f)
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case float64:
		return floatToInt(n)
	}
	return 0, fmt.Errorf("%w: an integer is required, not a %s", ErrInvalid, jsonKind(p))
}

func floatToInt(f float64) (int64, error) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: %v is not an integer in range", ErrInvalid, f)
	}
	return int64(f), nil
}

func asFloat(p any) (float64, error) {
	switch n := p.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s is not a float in range", ErrInvalid, n)
		}
		return f, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	}
	return 0, fmt.Errorf("%w: a number is required, not a %s", ErrInvalid, jsonKind(p))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, int, int64, float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
