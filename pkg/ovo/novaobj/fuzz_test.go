package novaobj

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/gonova/gonova/pkg/ovo"
)

// FuzzDecodeNova is ovo's FuzzDecode over nova's classes (embedded structs,
// nested lists of objects, nova's enums), seeded with every sample.
func FuzzDecodeNova(f *testing.F) {
	for _, s := range samples() {
		b, err := Registry.Marshal(s, ovo.Options{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, _, err := Registry.Unmarshal(in)
		if err != nil {
			if !errors.Is(err, ovo.ErrMalformed) && !errors.Is(err, ovo.ErrInvalid) &&
				!errors.Is(err, ovo.ErrUnknownObject) && !errors.Is(err, ovo.ErrIncompatibleVersion) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		enc1, err := Registry.Marshal(v, ovo.Options{})
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		v2, _, err := Registry.Unmarshal(enc1)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%s", err, enc1)
		}
		enc2, err := Registry.Marshal(v2, ovo.Options{})
		if err != nil || !bytes.Equal(enc1, enc2) {
			t.Fatalf("not stable (%v):\n%s\n%s", err, enc1, enc2)
		}
		if v3, _, err := Registry.Unmarshal(enc2); err != nil || !reflect.DeepEqual(v2, v3) {
			t.Fatalf("decode not stable: %v", err)
		}
	})
}
