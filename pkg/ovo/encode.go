package ovo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Options steer an encoding.
type Options struct {
	// Target is the version to encode the top-level object at; "" means the
	// class's own. An older minor drops the fields added since and backports
	// sub-objects (oslo's obj_to_primitive(target_version)).
	Target string
	// Manifest maps class names to the versions the receiver knows
	// (oslo's version_manifest); with it, sub-objects backport to those
	// versions instead of following Class.Relationships.
	Manifest map[string]string
	// RequireAll makes a field left unset (see unset) an error, at every
	// level: for senders such as nova's notifications, which set every field.
	RequireAll bool
	// Changes lists the top-level fields to report as changed
	// ("<ns>.changes"); those the target lacks are left out, as oslo does.
	Changes []string
}

// Encode returns v's primitive: {"<ns>.name", "<ns>.namespace",
// "<ns>.version", "<ns>.data"[, "<ns>.changes"]}, as oslo's obj_to_primitive.
// v is a registered struct or a pointer to one.
func (r *Registry) Encode(v any, o Options) (map[string]any, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, fmt.Errorf("ovo: encode a nil %T", v)
		}
		rv = rv.Elem()
	}
	e := r.entryByType(rv.Type())
	if e == nil {
		return nil, fmt.Errorf("ovo: encode: %w: Go type %T is not registered", ErrUnknownObject, v)
	}
	target := e.version
	if o.Target != "" {
		t, err := ParseVersion(o.Target)
		if err != nil {
			return nil, &Error{Object: e.class.Name, Version: o.Target, Err: fmt.Errorf("%w: target: %v", ErrIncompatibleVersion, err)}
		}
		if t.Major != e.version.Major || t.Compare(e.version) > 0 {
			return nil, &Error{Object: e.class.Name, Version: o.Target, Err: fmt.Errorf("%w: cannot encode version %s as %s", ErrIncompatibleVersion, e.version, t)}
		}
		target = t
	}
	p, err := r.encodeObject(e, rv, o.RequireAll)
	if err != nil {
		return nil, err
	}
	if target != e.version || o.Manifest != nil {
		data := p[r.keyData].(map[string]any)
		if err := r.makeCompatible(e, data, target, o.Manifest); err != nil {
			return nil, err
		}
		p[r.keyVersion] = target.String()
	}
	if len(o.Changes) > 0 {
		data := p[r.keyData].(map[string]any)
		var chg []any
		for _, c := range o.Changes {
			if _, ok := data[c]; ok {
				chg = append(chg, c)
			}
		}
		if len(chg) > 0 {
			p[r.keyChg] = chg
		}
	}
	return p, nil
}

// Marshal is Encode followed by encoding/json, without json's HTML escaping
// (a traceback's "<module>" stays as Python's json.dumps writes it).
func (r *Registry) Marshal(v any, o Options) ([]byte, error) {
	p, err := r.Encode(v, o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (r *Registry) encodeObject(e *entry, rv reflect.Value, all bool) (map[string]any, error) {
	data := make(map[string]any, len(e.fields))
	for i := range e.fields {
		f := &e.fields[i]
		fv := rv.FieldByIndex(f.index)
		if unset(f, fv) {
			if all {
				return nil, &Error{Object: e.class.Name, Version: e.class.Version, Field: f.Name, Err: fmt.Errorf("%w: not set", ErrInvalid)}
			}
			continue
		}
		val, err := r.encodeValue(f.Type, f.Nullable, fv, all)
		if err != nil {
			return nil, &Error{Object: e.class.Name, Version: e.class.Version, Field: f.Name, Err: err}
		}
		data[f.Name] = val
	}
	return map[string]any{
		r.keyName:      e.class.Name,
		r.keyNamespace: r.ns.Project,
		r.keyVersion:   e.class.Version,
		r.keyData:      data,
	}, nil
}

// unset reports a Go zero value the field's type cannot hold: an empty UUID,
// Enum, MAC or IP address string, or a nil non-nullable object. Such a field
// is left out of the primitive, as oslo leaves out a field that is not set
// (which is also what decoding a primitive without it gives back).
func unset(f *fieldPlan, v reflect.Value) bool {
	switch f.Type.Kind {
	case KindUUID, KindEnum, KindMACAddress, KindIPAddress:
		return v.Kind() == reflect.String && v.Len() == 0
	case KindObject:
		return !f.Nullable && v.Kind() == reflect.Pointer && v.IsNil()
	}
	return false
}

func (r *Registry) encodeValue(t Type, nullable bool, v reflect.Value, all bool) (any, error) {
	switch t.Kind {
	case KindList:
		if v.IsNil() && nullable {
			return nil, nil
		}
		out := make([]any, v.Len())
		for i := range out {
			x, err := r.encodeValue(*t.Elem, t.ElemNullable, v.Index(i), all)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = x
		}
		return out, nil
	case KindDict:
		if v.IsNil() && nullable {
			return nil, nil
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			x, err := r.encodeValue(*t.Elem, t.ElemNullable, it.Value(), all)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", it.Key().String(), err)
			}
			out[it.Key().String()] = x
		}
		return out, nil
	case KindObject:
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if nullable {
					return nil, nil
				}
				return nil, fmt.Errorf("%w: nil for a field that is not nullable", ErrInvalid)
			}
			v = v.Elem()
		}
		e := r.entryByType(v.Type())
		if e == nil {
			return nil, fmt.Errorf("%w: Go type %s is not registered", ErrUnknownObject, v.Type())
		}
		if e.class.Name != t.Object {
			return nil, fmt.Errorf("%w: an object of type %s is required, not a %s", ErrInvalid, t.Object, e.class.Name)
		}
		return r.encodeObject(e, v, all)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil // checkGoType allows pointers only where null is allowed
		}
		v = v.Elem()
	}
	return encodeScalar(t, v)
}

func encodeScalar(t Type, v reflect.Value) (any, error) {
	switch t.Kind {
	case KindString:
		return v.String(), nil
	case KindInteger:
		switch v.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if v.Uint() > math.MaxInt64 {
				return nil, fmt.Errorf("%w: %d does not fit an int64", ErrInvalid, v.Uint())
			}
			return int64(v.Uint()), nil
		}
		return v.Int(), nil
	case KindFloat:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: %v has no JSON form", ErrInvalid, f)
		}
		return f, nil
	case KindBoolean:
		return v.Bool(), nil
	case KindDateTime:
		return FormatTime(v.Interface().(time.Time))
	}
	return checkString(t, v.String())
}

// checkString validates (and, for MAC and IP addresses, canonicalises) the
// string-typed kinds, the same both ways.
func checkString(t Type, s string) (string, error) {
	switch t.Kind {
	case KindUUID:
		if _, err := uuid.Parse(s); err != nil {
			return "", fmt.Errorf("%w: %q is not a UUID", ErrInvalid, s)
		}
	case KindEnum:
		for _, ok := range t.Values {
			if s == ok {
				return s, nil
			}
		}
		return "", fmt.Errorf("%w: field value %s is invalid (valid: %s)", ErrInvalid, s, strings.Join(t.Values, ", "))
	case KindMACAddress:
		m := strings.ReplaceAll(strings.ToLower(s), "-", ":")
		if !isMAC(m) {
			return "", fmt.Errorf("%w: malformed MAC %s", ErrInvalid, s)
		}
		return m, nil
	case KindIPAddress:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("%w: %q is not an IPv4 or IPv6 address", ErrInvalid, s)
		}
		return a.String(), nil
	}
	return s, nil
}

// isMAC matches oslo's MACAddress pattern ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$.
func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
		} else if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
