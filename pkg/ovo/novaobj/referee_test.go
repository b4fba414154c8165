package novaobj

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"testing"

	"github.com/gonova/gonova/pkg/ovo"
	"github.com/gonova/gonova/pkg/testenv"
)

func runReferee(t *testing.T, cmd string, in, out any) {
	t.Helper()
	testenv.RequirePythonModules(t, "run scripts/services.sh (apt-get install python3-nova python3-oslo.versionedobjects)",
		"oslo_versionedobjects", "nova.objects")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(testenv.PythonPath, "../testdata/referee.py", cmd)
	c.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	res, err := c.Output()
	if err != nil {
		t.Fatalf("referee %s: %v\n%s", cmd, err, stderr.String())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("referee %s answered %s: %v", cmd, res, err)
	}
}

// TestRefereeSchema: every class here has nova 26.2.2's version and fields.
func TestRefereeSchema(t *testing.T) {
	var names []string
	for _, c := range Classes {
		names = append(names, c.Name)
	}
	var py map[string]struct {
		Version string
		Fields  map[string]map[string]any
	}
	runReferee(t, "schema", names, &py)
	for _, c := range Classes {
		p := py[c.Name]
		if p.Version != c.Version {
			t.Errorf("%s: version %s, nova %s", c.Name, c.Version, p.Version)
		}
		if len(p.Fields) != len(c.Fields) {
			t.Errorf("%s: %d fields, nova %d", c.Name, len(c.Fields), len(p.Fields))
		}
		for _, f := range c.Fields {
			pf, ok := p.Fields[f.Name]
			if !ok {
				t.Errorf("%s.%s: nova has no such field", c.Name, f.Name)
				continue
			}
			got := describe(f.Type)
			got["nullable"] = f.Nullable
			if f.HasDefault {
				got["default"] = f.Default
			}
			want := normalize(pf)
			if !reflect.DeepEqual(normalize(got), want) {
				t.Errorf("%s.%s:\n  Go   %v\n  nova %v", c.Name, f.Name, normalize(got), want)
			}
		}
	}
}

// describe renders t the way referee.py describes nova's field types.
func describe(t ovo.Type) map[string]any {
	name := map[ovo.Kind]string{ovo.KindString: "String", ovo.KindInteger: "Integer", ovo.KindFloat: "Float",
		ovo.KindBoolean: "Boolean", ovo.KindUUID: "UUID", ovo.KindDateTime: "DateTime", ovo.KindMACAddress: "MACAddress",
		ovo.KindIPAddress: "IPV4AndV6Address", ovo.KindList: "List", ovo.KindDict: "Dict", ovo.KindObject: "Object"}[t.Kind]
	d := map[string]any{"type": name}
	switch t.Kind {
	case ovo.KindEnum:
		d["type"] = "Enum"
		d["valid"] = t.Values
	case ovo.KindObject:
		d["object"] = t.Object
	case ovo.KindList, ovo.KindDict:
		d["elem"] = describe(*t.Elem)
		d["elem_nullable"] = t.ElemNullable
	}
	return d
}

// normalize makes both sides comparable: JSON round trip, and nova's enum
// classes (InstanceState, ...) all read as "Enum".
func normalize(d map[string]any) map[string]any {
	b, _ := json.Marshal(d)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		if _, ok := m["valid"]; ok {
			m["type"] = "Enum"
		}
		if e, ok := m["elem"].(map[string]any); ok {
			walk(e)
		}
	}
	walk(out)
	return out
}

// TestRefereeAccept: nova's obj_from_primitive takes every primitive gonova
// encodes (each field coerced by its type), leaves no field unset, and its
// obj_to_primitive gives the same primitive back; backported ones too.
func TestRefereeAccept(t *testing.T) {
	var prims []map[string]any
	var what []string
	add := func(v any, o ovo.Options) {
		p, err := Registry.Encode(v, o)
		if err != nil {
			t.Fatalf("encode %T %+v: %v", v, o, err)
		}
		b, _ := json.Marshal(p) // what goes on the wire
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		prims = append(prims, m)
		what = append(what, fmt.Sprintf("%T %s", v, o.Target))
	}
	for _, s := range samples() {
		add(s, ovo.Options{})
	}
	add(&ServiceStatusPayload{UUID: "6bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b11"}, ovo.Options{Target: "1.0"})
	add(faultSample(), ovo.Options{Target: "1.0"})
	add(flavorSample(), ovo.Options{Target: "1.1"})
	add(actionSample(), ovo.Options{Manifest: map[string]string{"FlavorPayload": "1.1", "ExceptionPayload": "1.0"}})

	var res []struct {
		OK      bool
		Error   string
		Class   string
		Version string
		Unset   []string
		Same    bool
		Again   map[string]any
	}
	runReferee(t, "accept", prims, &res)
	for i, r := range res {
		name := prims[i]["nova_object.name"]
		switch {
		case !r.OK:
			t.Errorf("%s: nova rejects it: %s", what[i], r.Error)
		case r.Class != name:
			t.Errorf("%s: nova made a %s", what[i], r.Class)
		case !r.Same && !sameButDiskConfig(prims[i], r.Again):
			gb, _ := json.Marshal(prims[i])
			pb, _ := json.Marshal(r.Again)
			t.Errorf("%s: nova re-encodes it differently:\n  Go   %s\n  nova %s", what[i], gb, pb)
		}
		// Fields dropped for an older target are the only ones nova may find unset.
		data := prims[i]["nova_object.data"].(map[string]any)
		for _, u := range r.Unset {
			if _, sent := data[u]; sent {
				t.Errorf("%s: nova left %s unset although it was sent", what[i], u)
			}
		}
		if prims[i]["nova_object.version"] == Must(Registry.Class(name.(string))).Version && len(r.Unset) > 0 {
			t.Errorf("%s: nova has fields unset: %v", what[i], r.Unset)
		}
	}
	if len(res) != len(prims) {
		t.Fatalf("referee answered %d of %d", len(res), len(prims))
	}
}

// sameButDiskConfig: nova's DiskConfig.coerce maps any truthy value to
// "AUTO" (it expects instance.auto_disk_config, a boolean), so nova's own
// "MANUAL" comes back from obj_from_primitive as "AUTO": a quirk of nova's
// rehydration, not of the wire form, which is what nova emits.
func sameButDiskConfig(sent, again map[string]any) bool {
	sd, _ := sent["nova_object.data"].(map[string]any)
	ad, _ := again["nova_object.data"].(map[string]any)
	if sd == nil || ad == nil || sd["auto_disk_config"] != "MANUAL" || ad["auto_disk_config"] != "AUTO" {
		return false
	}
	ad["auto_disk_config"] = "MANUAL"
	return reflect.DeepEqual(sent, again)
}

func Must(c ovo.Class, ok bool) ovo.Class {
	if !ok {
		panic("no class")
	}
	return c
}

// TestRefereeBuild: payloads nova builds field by field decode into the Go
// types, and encode back to what nova sent.
func TestRefereeBuild(t *testing.T) {
	var prims []map[string]any
	runReferee(t, "build", nil, &prims)
	if len(prims) < 7 {
		t.Fatalf("referee built %d payloads", len(prims))
	}
	var seen []string
	for _, p := range prims {
		b, _ := json.Marshal(p)
		v, h, err := Registry.Unmarshal(b)
		if err != nil {
			t.Errorf("decode nova's %s: %v", b, err)
			continue
		}
		seen = append(seen, h.Name)
		again, err := Registry.Marshal(v, ovo.Options{})
		if err != nil {
			t.Errorf("re-encode %s: %v", h.Name, err)
			continue
		}
		var a, w any
		_ = json.Unmarshal(again, &a)
		_ = json.Unmarshal(b, &w)
		if !reflect.DeepEqual(a, w) {
			t.Errorf("%s:\n  nova %s\n  Go   %s", h.Name, b, again)
		}
	}
	if !slices.Contains(seen, "ServiceStatusPayload") || !slices.Contains(seen, "InstanceActionPayload") {
		t.Errorf("decoded %v", seen)
	}
	// The decoded ServiceStatusPayload carries nova's values.
	b, _ := json.Marshal(prims[0])
	var s ServiceStatusPayload
	if _, err := Registry.UnmarshalInto(b, &s); err != nil || s.ReportCount != 42 || *s.Host != "compute-1" || !s.LastSeenUp.Equal(ts) || s.DisabledReason != nil {
		t.Errorf("ServiceStatusPayload %+v: %v", s, err)
	}
}
