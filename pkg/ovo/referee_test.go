package ovo

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"

	"github.com/gonova/gonova/pkg/testenv"
)

// runReferee runs testdata/referee.py cmd with in as JSON and decodes its answer.
func runReferee(t *testing.T, cmd string, in, out any) {
	t.Helper()
	testenv.RequirePythonModules(t, "run scripts/services.sh (apt-get install python3-oslo.versionedobjects)", "oslo_versionedobjects")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(testenv.PythonPath, "testdata/referee.py", cmd)
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

// TestRefereeTime: ParseTime accepts what oslo's DateTime.from_primitive
// accepts, and reads the same instant, to the microsecond.
func TestRefereeTime(t *testing.T) {
	in := []string{
		"2026-12-01T08:30:15Z", "2026-12-01T08:30:15", "2026-12-01 08:30:15", "2026-12-01T08:30:15.5Z",
		"2026-12-01T08:30:15,123456789+05:30", "2026-12-01T08:30:15-0800", "2026-12-01T08:30:15+01",
		"2026-12-01", "2026-12", "2026", "20261201", "20261201T083015Z", "2026-12-01T08", "2026-12-01T0830",
		"2026-12-01T08:30:1", "2026-1-2", "202612", "2026-12-01T8:30", "2026-13-01", "2026-02-29", "2024-02-29",
		"2026-12-01T24:00:00", "2026-12-01T08:60:00", "2026-12-01T08:30:60", "0000-01-01", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2026-12-01T08:30:15+23:59", "2026-12-01T08:30:15+24:00", "2026-12-01T08:30:15Z\n",
		"2026-12-01T08:30:15z", "2026-12-01T08:30:15 Z", " 2026-12-01", "2026-12-01T", "", "x", "2026-12-01T08:30:15+0",
		"2026-12-01T08:30:15.Z", "2026-12-01T08:30:15+01:5",
	}
	var want []*string
	runReferee(t, "time", in, &want)
	for i, s := range in {
		tm, err := ParseTime(s)
		var got *string
		if err == nil {
			g := tm.Format("2006-01-02T15:04:05.000000Z")
			got = &g
		}
		switch {
		case (got == nil) != (want[i] == nil):
			t.Errorf("%q: Go %v (err %v), oslo %v", s, deref(got), err, deref(want[i]))
		case got != nil && *got != *want[i]:
			t.Errorf("%q: Go %s, oslo %s", s, *got, *want[i])
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "rejects"
	}
	return *s
}

// TestRefereeOslo: oslo itself, with the test classes written as oslo
// classes (testdata/referee.py), takes what this codec encodes, and
// backports it (by obj_relationships, or by a version manifest) to exactly
// what Encode gives for the same target.
func TestRefereeOslo(t *testing.T) {
	r := testRegistry(t)
	type item struct {
		Primitive map[string]any    `json:"primitive"`
		Target    *string           `json:"target"`
		Manifest  map[string]string `json:"manifest"`
	}
	minimal := &parent{U: "d5ca8f0e-2b57-4a5c-8b2c-111111111111", E: "a", Mac: "aa:bb:cc:dd:ee:ff", IP: "10.0.0.1", Kids: []*child{}}
	var items []item
	var wants []map[string]any
	for _, v := range []*parent{sample(), minimal} {
		for _, o := range []Options{
			{}, {Changes: []string{"s"}}, {Target: "1.3"}, {Target: "1.2"}, {Target: "1.1"}, {Target: "1.0"},
			{Manifest: map[string]string{"Child": "1.0"}}, {Target: "1.2", Manifest: map[string]string{"Child": "1.1"}},
			{Manifest: map[string]string{"Other": "1.0"}},
		} {
			cur, err := r.Encode(v, Options{Changes: o.Changes})
			if err != nil {
				t.Fatal(err)
			}
			want, err := r.Encode(v, o)
			if err != nil {
				t.Fatal(err)
			}
			it := item{Primitive: jsonRoundTrip(cur), Manifest: o.Manifest}
			if o.Target != "" {
				it.Target = &o.Target
			}
			items = append(items, it)
			wants = append(wants, jsonRoundTrip(want))
		}
	}
	var res []struct {
		OK    bool
		Error string
		Again map[string]any
	}
	runReferee(t, "oslo", items, &res)
	if len(res) != len(items) {
		t.Fatalf("referee answered %d of %d", len(res), len(items))
	}
	for i, r := range res {
		b, _ := json.Marshal(wants[i])
		switch {
		case !r.OK:
			t.Errorf("item %d (target %v, manifest %v): oslo: %s", i, deref(items[i].Target), items[i].Manifest, r.Error)
		case !reflect.DeepEqual(r.Again, wants[i]):
			a, _ := json.Marshal(r.Again)
			t.Errorf("item %d (target %v, manifest %v):\n  Go   %s\n  oslo %s", i, deref(items[i].Target), items[i].Manifest, b, a)
		}
	}
}

func jsonRoundTrip(p map[string]any) map[string]any {
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
