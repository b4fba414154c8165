package computedb

import (
	"context"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/pyregex"
)

// runReservationContract: an instance's reservation id and launch index
// (nova's multiple create) are stored, read back by every statement that
// returns a row, filtered as nova's regex filters and sorted by, on both
// stores.
func runReservationContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.UpsertNode(ctx, Node{Host: "c1", HypervisorHostname: "c1.node", VCPUs: 8, MemoryMB: 8192, LocalGB: 100}); err != nil {
		t.Fatal(err)
	}
	nodes, err := s.ListNodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes %v %v", nodes, err)
	}
	var made []Instance
	for i, r := range []struct {
		name, resv string
		index      int
	}{{"a-1", "r-aaaa0001", 0}, {"a-2", "r-aaaa0001", 1}, {"a-3", "r-aaaa0001", 2}, {"b", "r-bbbb0002", 0}, {"old", "", 0}} {
		in, err := s.CreateInstance(ctx, Instance{DisplayName: r.name, ProjectID: "p", ReservationID: r.resv, LaunchIndex: r.index,
			TaskState: states.TaskScheduling, VCPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if in.ReservationID != r.resv || in.LaunchIndex != r.index {
			t.Fatalf("created %d: reservation %q index %d", i, in.ReservationID, in.LaunchIndex)
		}
		made = append(made, in)
	}
	check := func(what string, in Instance, want Instance) {
		t.Helper()
		if in.ReservationID != want.ReservationID || in.LaunchIndex != want.LaunchIndex {
			t.Errorf("%s: reservation %q index %d, want %q %d", what, in.ReservationID, in.LaunchIndex, want.ReservationID, want.LaunchIndex)
		}
	}
	got, err := s.GetInstance(ctx, made[1].UUID)
	if err != nil {
		t.Fatal(err)
	}
	check("get", got, made[1])
	vm := states.VMActive
	up, err := s.UpdateInstance(ctx, made[2].UUID, InstanceUpdate{VMState: &vm})
	if err != nil {
		t.Fatal(err)
	}
	check("update", up, made[2])
	sched := states.TaskScheduling
	cl, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: made[1].UUID, NodeID: nodes[0].ID, ExpectTaskState: &sched})
	if err != nil {
		t.Fatal(err)
	}
	check("claim", cl, made[1])
	if err := s.DeleteInstance(ctx, made[3].UUID); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		f    InstanceFilter
		want string
	}{
		{"a reservation", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColReservationID: pyregex.MustCompile("r-aaaa0001")}}, "a-1,a-2,a-3"},
		{"a regex, as nova's", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColReservationID: pyregex.MustCompile("^r-")}}, "a-1,a-2,a-3"},
		{"NULL never matches", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColReservationID: pyregex.MustCompile(".*")}}, "a-1,a-2,a-3"},
		{"a deleted one's", InstanceFilter{Deleted: DeletedOnly, Regex: map[Column]*pyregex.Regex{ColReservationID: pyregex.MustCompile("bbbb")}}, "b"},
		{"launch_index on its number", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColLaunchIndex: pyregex.MustCompile("^0$")}}, "a-1,old"},
		{"unknown reservation", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColReservationID: pyregex.MustCompile("r-zzzz")}}, ""},
	}
	for _, c := range cases {
		list, err := s.ListInstances(ctx, c.f)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if sortedNames(list) != c.want {
			t.Errorf("%s: %s, want %s", c.name, sortedNames(list), c.want)
		}
		for _, in := range list {
			for _, m := range made {
				if m.UUID == in.UUID {
					check("list "+c.name, in, m)
				}
			}
		}
	}
	for _, o := range []struct {
		sort []SortKey
		want string
	}{
		{[]SortKey{{ColLaunchIndex, true}, {ColDisplayName, false}}, "a-3,a-2,a-1,old"},
		{[]SortKey{{ColReservationID, false}, {ColLaunchIndex, true}}, "a-3,a-2,a-1,old"}, // NULL last
	} {
		f := InstanceFilter{Sort: o.sort}
		full, err := s.ListInstances(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(names(full), ",") != o.want {
			t.Errorf("sort %v: %v, want %s", o.sort, names(full), o.want)
		}
		f.Limit = 1
		var paged []Instance
		for {
			page, err := s.ListInstances(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if len(page) < 1 {
				break
			}
			f.Marker = page[0].UUID
		}
		if strings.Join(names(paged), ",") != o.want {
			t.Errorf("sort %v paged: %v", o.sort, names(paged))
		}
	}
	if _, err := s.CreateInstance(ctx, Instance{ReservationID: strings.Repeat("r", 256)}); err == nil {
		t.Error("a 256-character reservation id was stored")
	}
}
