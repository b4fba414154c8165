package computedb

import (
	"context"
	"errors"
	"testing"
	"time"
)

func runUsageContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	mk := func(project, id string, launched *time.Time) Instance {
		t.Helper()
		in, err := s.CreateInstance(ctx, Instance{UUID: id, ProjectID: project, UserID: "u", VCPUs: 1, MemoryMB: 64, LaunchedAt: launched})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a := mk("p1", "00000000-0000-0000-0000-00000000000a", at(-10*time.Hour))
	b := mk("p1", "00000000-0000-0000-0000-00000000000b", at(-5*time.Hour))
	mk("p1", "00000000-0000-0000-0000-00000000000c", nil) // never launched
	mk("p1", "00000000-0000-0000-0000-00000000000d", at(2*time.Hour))
	e := mk("p1", "00000000-0000-0000-0000-00000000000e", at(-20*time.Hour))
	f := mk("p0", "00000000-0000-0000-0000-00000000000f", at(-1*time.Hour))
	if err := s.DeleteInstance(ctx, b.UUID); err != nil { // terminated now: inside the window
		t.Fatal(err)
	}
	if _, err := s.UpdateInstance(ctx, e.UUID, InstanceUpdate{TerminatedAt: at(-10 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w := UsageWindow{Begin: now.Add(-2 * time.Hour), End: now.Add(time.Hour)}
	ids := func(list []Instance, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, in := range list {
			out = append(out, in.UUID[len(in.UUID)-1:])
		}
		return out
	}
	eq := func(got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	}
	eq(ids(s.ListActiveInWindow(ctx, w)), "f", "a", "b")
	w.ProjectID = "p1"
	eq(ids(s.ListActiveInWindow(ctx, w)), "a", "b")
	w.ProjectID, w.Limit = "", 2
	eq(ids(s.ListActiveInWindow(ctx, w)), "f", "a")
	w.Marker = a.UUID
	eq(ids(s.ListActiveInWindow(ctx, w)), "b")
	w.Marker = f.UUID
	eq(ids(s.ListActiveInWindow(ctx, w)), "a", "b")
	w.Marker = b.UUID // deleted: still a marker
	eq(ids(s.ListActiveInWindow(ctx, w)))
	w.Marker = "11111111-0000-0000-0000-000000000000"
	if _, err := s.ListActiveInWindow(ctx, w); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown marker: %v", err)
	}
}
