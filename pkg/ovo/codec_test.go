package ovo

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A test family covering every kind: Parent 1.3 holds a Child (1.2) and a list of them.
type child struct {
	Name  string `ovo:"name"`
	Extra *int   `ovo:"extra"` // added in 1.1
	Tag   string `ovo:"tag"`   // added in 1.2
}

type parent struct {
	S       string             `ovo:"s"`
	N       int64              `ovo:"n"`
	F       float64            `ovo:"f"`
	B       bool               `ovo:"b"`
	U       string             `ovo:"u"`
	T       *time.Time         `ovo:"t"`
	E       string             `ovo:"e"`
	Mac     string             `ovo:"mac"`
	IP      string             `ovo:"ip"`
	L       []string           `ovo:"l"`
	D       map[string]*string `ovo:"d"`
	Kid     *child             `ovo:"kid"`
	Kids    []*child           `ovo:"kids"`
	Def     int                `ovo:"def"`
	NewOne  *string            `ovo:"new_one"` // added in 1.3
	Ignored string
}

var childClass = Class{Name: "Child", Version: "1.2", Fields: []Field{
	F("name", String),
	F("extra", Integer).OrNull().AddedIn("1.1"),
	F("tag", String).WithDefault("none").AddedIn("1.2"),
}}

var parentClass = Class{Name: "Parent", Version: "1.3", Fields: []Field{
	F("s", String), F("n", Integer), F("f", Float), F("b", Boolean), F("u", UUID),
	F("t", DateTime).OrNull(), F("e", Enum("a", "b")), F("mac", MACAddress), F("ip", IPAddress),
	F("l", ListOf(String)).OrNull(), F("d", DictOf(String).NullableElems()),
	F("kid", ObjectOf("Child")).OrNull(), F("kids", ListOfObjects("Child")),
	F("def", Integer).WithDefault(7), F("new_one", String).OrNull().AddedIn("1.3"),
}, Relationships: map[string][]Rel{
	"kid":  {{"1.0", "1.0"}, {"1.2", "1.1"}, {"1.3", "1.2"}},
	"kids": {{"1.1", "1.0"}, {"1.3", "1.2"}},
}}

func testRegistry(t testing.TB) *Registry {
	r := NewRegistry(Namespace{Serial: "test_object", Project: "test"})
	if err := r.Register(childClass, child{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(parentClass, &parent{}); err != nil {
		t.Fatal(err)
	}
	return r
}

func sample() *parent {
	ts := time.Date(2026, 12, 1, 8, 30, 15, 0, time.UTC)
	x := 3
	s := "v"
	return &parent{S: "hi", N: -4, F: 1.5, B: true, U: "d5ca8f0e-2b57-4a5c-8b2c-111111111111", T: &ts,
		E: "b", Mac: "aa:bb:cc:dd:ee:0f", IP: "2001:db8::1", L: []string{"x", "y"},
		D: map[string]*string{"k": &s, "n": nil}, Kid: &child{Name: "k1", Extra: &x, Tag: "t"},
		Kids: []*child{{Name: "a", Tag: "none"}}, Def: 9, NewOne: &s}
}

func TestRoundTrip(t *testing.T) {
	r := testRegistry(t)
	b, err := r.Marshal(sample(), Options{Changes: []string{"s", "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"test_object.changes":["s"],"test_object.data":{"b":true,"d":{"k":"v","n":null},"def":9,"e":"b","f":1.5,"ip":"2001:db8::1",` +
		`"kid":{"test_object.data":{"extra":3,"name":"k1","tag":"t"},"test_object.name":"Child","test_object.namespace":"test","test_object.version":"1.2"},` +
		`"kids":[{"test_object.data":{"extra":null,"name":"a","tag":"none"},"test_object.name":"Child","test_object.namespace":"test","test_object.version":"1.2"}],` +
		`"l":["x","y"],"mac":"aa:bb:cc:dd:ee:0f","n":-4,"new_one":"v","s":"hi","t":"2026-12-01T08:30:15Z","u":"d5ca8f0e-2b57-4a5c-8b2c-111111111111"},` +
		`"test_object.name":"Parent","test_object.namespace":"test","test_object.version":"1.3"}`
	if string(b) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", b, want)
	}
	v, h, err := r.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "Parent" || h.Version != "1.3" || !reflect.DeepEqual(h.Changes, []string{"s"}) {
		t.Fatalf("header %+v", h)
	}
	if got := v.(*parent); !reflect.DeepEqual(got, sample()) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeDefaultsAndOlderMinor(t *testing.T) {
	r := testRegistry(t)
	in := `{"test_object.name":"Parent","test_object.namespace":"test","test_object.version":"1.1","test_object.data":{
		"s":"x","e":"a","def":null,"mac":"AA-BB-CC-DD-EE-FF","ip":"10.0.0.1","t":"2026-12-01 09:30:15.1234567+01:00",
		"kids":[{"test_object.name":"Child","test_object.namespace":"test","test_object.version":"1.0","test_object.data":{"name":"old"}}]}}`
	var p parent
	h, err := r.UnmarshalInto([]byte(in), &p)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != "1.1" || p.Def != 7 || p.Mac != "aa:bb:cc:dd:ee:ff" || p.Kids[0].Tag != "none" || p.Kids[0].Extra != nil {
		t.Fatalf("decoded %+v %+v", h, p)
	}
	if want := time.Date(2026, 12, 1, 8, 30, 15, 123456000, time.UTC); !p.T.Equal(want) {
		t.Fatalf("time %v, want %v", p.T, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	r := testRegistry(t)
	prim := func(name, ver, data string) string {
		return `{"test_object.name":"` + name + `","test_object.namespace":"test","test_object.version":"` + ver + `","test_object.data":` + data + `}`
	}
	for _, c := range []struct {
		in   string
		kind error
		msg  string
	}{
		{prim("Nope", "1.0", `{}`), ErrUnknownObject, "ovo: Nope 1.0: unknown object: no class Nope is registered"},
		{prim("Parent", "2.0", `{}`), ErrIncompatibleVersion, "ovo: Parent 2.0: incompatible version: this side has 1.3"},
		{prim("Parent", "1.4", `{"s":"x","zz":1,"aa":2}`), ErrIncompatibleVersion, "ovo: Parent 1.4: incompatible version: newer than 1.3 and carries fields 1.3 does not know: aa, zz"},
		{prim("Parent", "1.3", `{"e":"c"}`), ErrInvalid, "ovo: Parent 1.3: field e: invalid value: field value c is invalid (valid: a, b)"},
		{prim("Parent", "1.3", `{"n":1.5}`), ErrInvalid, "ovo: Parent 1.3: field n: invalid value: 1.5 is not an integer in range"},
		{prim("Parent", "1.3", `{"s":null}`), ErrInvalid, "ovo: Parent 1.3: field s: invalid value: null for a field that is not nullable"},
		{prim("Parent", "1.3", `{"kid":`+prim("Child", "1.2", `{"name":5}`)+`}`), ErrInvalid, "ovo: Parent 1.3: field kid: Child 1.2: field name: invalid value: a string is required, not a number"},
		{prim("Parent", "1.3", `{"kid":`+prim("Parent", "1.3", `{}`)+`}`), ErrInvalid, "ovo: Parent 1.3: field kid: invalid value: an object of type Child is required, not a Parent"},
		{prim("Parent", "1.3", `{"t":"yesterday"}`), ErrInvalid, `ovo: Parent 1.3: field t: invalid value: unable to parse date string "yesterday"`},
		{`{"test_object.name":"Parent","test_object.namespace":"nova","test_object.version":"1.0","test_object.data":{}}`, ErrUnknownObject, `ovo: nova.Parent 1.0: unknown object: namespace "nova" is not "test"`},
		{`{"test_object.name":"Parent"}`, ErrMalformed, `ovo: malformed primitive: no "test_object.namespace"`},
		{`[1]`, ErrMalformed, "ovo: malformed primitive: not a JSON object"},
	} {
		_, _, err := r.Unmarshal([]byte(c.in))
		if !errors.Is(err, c.kind) || err.Error() != c.msg {
			t.Errorf("%s:\n got %v\nwant %s", c.in, err, c.msg)
		}
	}
	// A newer minor with only known fields decodes.
	if _, _, err := r.Unmarshal([]byte(prim("Parent", "1.9", `{"s":"x"}`))); err != nil {
		t.Errorf("newer minor, known fields: %v", err)
	}
}

func TestBackport(t *testing.T) {
	r := testRegistry(t)
	get := func(o Options) map[string]any {
		t.Helper()
		p, err := r.Encode(sample(), o)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	data := func(m map[string]any) map[string]any { return m["test_object.data"].(map[string]any) }

	p := get(Options{Target: "1.2"})
	if p["test_object.version"] != "1.2" || data(p)["new_one"] != nil {
		t.Fatalf("1.2: %v", p)
	}
	if _, has := data(p)["new_one"]; has {
		t.Fatal("1.2 kept new_one")
	}
	kid := data(p)["kid"].(map[string]any)
	if kid["test_object.version"] != "1.1" || data(kid)["tag"] != nil {
		t.Fatalf("kid at 1.2: %v", kid)
	}
	if _, has := data(kid)["extra"]; !has {
		t.Fatal("kid 1.1 lost extra")
	}
	kids := data(p)["kids"].([]any)[0].(map[string]any) // gap between 1.1 and 1.3: 1.0
	if kids["test_object.version"] != "1.0" {
		t.Fatalf("kids at 1.2: %v", kids)
	}
	if _, has := data(kids)["extra"]; has {
		t.Fatal("kids 1.0 kept extra")
	}
	p = get(Options{Target: "1.0"}) // kids did not exist before 1.1
	if _, has := data(p)["kids"]; has {
		t.Fatalf("1.0 kept kids: %v", p)
	}
	// With a manifest the child versions come from it.
	p = get(Options{Manifest: map[string]string{"Child": "1.0"}})
	if v := data(p)["kid"].(map[string]any)["test_object.version"]; v != "1.0" || p["test_object.version"] != "1.3" {
		t.Fatalf("manifest: %v", p)
	}
	for _, bad := range []string{"1.4", "2.0", "x"} {
		if _, err := r.Encode(sample(), Options{Target: bad}); !errors.Is(err, ErrIncompatibleVersion) {
			t.Errorf("target %s: %v", bad, err)
		}
	}
	// No rule, no manifest: an error that names the field.
	r2 := NewRegistry(OsloNamespace)
	pc := parentClass
	pc.Relationships = nil
	r2.MustRegister(childClass, child{})
	r2.MustRegister(pc, parent{})
	if _, err := r2.Encode(sample(), Options{Target: "1.2"}); !errors.Is(err, ErrIncompatibleVersion) || !strings.Contains(err.Error(), "field kid") {
		t.Errorf("no rule: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	r := testRegistry(t)
	for name, mut := range map[string]func(*parent){
		"enum":   func(p *parent) { p.E = "zz" },
		"uuid":   func(p *parent) { p.U = "nope" },
		"mac":    func(p *parent) { p.Mac = "aa:bb" },
		"ip":     func(p *parent) { p.IP = "fe80::1%eth0" },
		"kidnil": func(p *parent) { p.Kids = []*child{nil} },
		"year":   func(p *parent) { ts := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC); p.T = &ts },
	} {
		p := sample()
		mut(p)
		if _, err := r.Encode(p, Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := r.Encode(struct{}{}, Options{}); !errors.Is(err, ErrUnknownObject) {
		t.Errorf("unregistered: %v", err)
	}
}

func TestRegisterChecks(t *testing.T) {
	r := NewRegistry(OsloNamespace)
	type bad struct {
		S *string `ovo:"s"`
	}
	if err := r.Register(Class{Name: "X", Version: "1.0", Fields: []Field{F("s", String)}}, bad{}); err == nil {
		t.Error("pointer for a non-nullable string accepted")
	}
	if err := r.Register(Class{Name: "X", Version: "1.0", Fields: []Field{F("t", String)}}, bad{}); err == nil {
		t.Error("missing struct field accepted")
	}
	if err := r.Register(Class{Name: "X", Version: "1.0", Fields: []Field{F("s", String).OrNull().AddedIn("1.1")}}, bad{}); err == nil {
		t.Error("field added after the class version accepted")
	}
	if err := r.Register(Class{Name: "X", Version: "1.0", Fields: []Field{F("s", Integer).OrNull()}}, bad{}); err == nil {
		t.Error("string for an integer accepted")
	}
}

func TestTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-01T08:30:15Z":             "2026-12-01T08:30:15Z",
		"2026-12-01T08:30:15.999999-02:30": "2026-12-01T11:00:15Z",
		"2026-12-01":                       "2026-12-01T00:00:00Z",
		"2026-12":                          "2026-12-01T00:00:00Z",
		"20261201T0830":                    "2026-12-01T08:30:00Z",
		"2026-12-01 08:30:15+0100":         "2026-12-01T07:30:15Z",
	} {
		tm, err := ParseTime(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got, _ := FormatTime(tm); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{"202612", "2026-02-30", "2026-12-01T24:00:00", "0000-01-01", "2026-12-01T08:00:00+24:00", ""} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestMarshalNoHTMLEscape(t *testing.T) {
	r := testRegistry(t)
	p := sample()
	p.S = "<module> & co"
	b, err := r.Marshal(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"s":"<module> & co"`) || strings.HasSuffix(string(b), "\n") {
		t.Fatalf("%s", b)
	}
}

func TestValidate(t *testing.T) {
	if err := testRegistry(t).Validate(); err != nil {
		t.Fatal(err)
	}
	r := NewRegistry(OsloNamespace)
	r.MustRegister(parentClass, parent{})
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "Parent.kid holds Child, which is not registered") {
		t.Fatalf("%v", err)
	}
}
