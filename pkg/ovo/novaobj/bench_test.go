package novaobj

import (
	"testing"

	"github.com/gonova/gonova/pkg/ovo"
)

// BenchmarkInstanceActionPayload: encode to JSON and decode back, the shape
// instance.create/delete/reboot notifications carry.
func BenchmarkInstanceActionPayload(b *testing.B) {
	p := actionSample()
	enc, err := Registry.Marshal(p, ovo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := Registry.Marshal(p, ovo.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		var out InstanceActionPayload
		for b.Loop() {
			if _, err := Registry.UnmarshalInto(enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
