package ovo

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode: any input either decodes or fails with one of the package's
// error kinds, never panics; what decodes re-encodes, and the re-encoding is
// a fixed point (decode -> encode -> decode -> encode gives the same bytes and
// the same value).
func FuzzDecode(f *testing.F) {
	r := testRegistry(f)
	good, err := r.Marshal(sample(), Options{Changes: []string{"s"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	old, _ := r.Marshal(sample(), Options{Target: "1.1"})
	f.Add(old)
	for _, s := range []string{
		`{}`, `[]`, `null`,
		`{"test_object.name":"Parent","test_object.namespace":"test","test_object.version":"1.0","test_object.data":{}}`,
		`{"test_object.name":"Child","test_object.namespace":"test","test_object.version":"1.9","test_object.data":{"name":"x","zz":1}}`,
		`{"test_object.name":"Parent","test_object.namespace":"test","test_object.version":"1.3","test_object.data":{"n":1e400,"t":"2026-12-01T08:30:15.999999999+23:59"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, _, err := r.Unmarshal(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) &&
				!errors.Is(err, ErrUnknownObject) && !errors.Is(err, ErrIncompatibleVersion) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		enc1, err := r.Marshal(v, Options{})
		if err != nil {
			t.Fatalf("decoded value does not encode: %v (%+v)", err, v)
		}
		v2, _, err := r.Unmarshal(enc1)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%s", err, enc1)
		}
		enc2, err := r.Marshal(v2, Options{})
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("not stable:\n%s\n%s", enc1, enc2)
		}
		v3, _, err := r.Unmarshal(enc2)
		if err != nil || !reflect.DeepEqual(v2, v3) {
			t.Fatalf("decode not stable: %v\n%+v\n%+v", err, v2, v3)
		}
	})
}
