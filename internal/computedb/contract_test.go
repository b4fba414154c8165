package computedb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/pyregex"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/google/uuid"
)

// Both stores must behave the same: the embedded default is only useful if it
// means what the Postgres deployment means.
func TestMemContract(t *testing.T) { runContract(t, func(t *testing.T) Store { return NewMem() }) }

func TestPGContract(t *testing.T) {
	runContract(t, func(t *testing.T) Store { return NewPG(pgtest.NewPool(t)) })
}

func runContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("ListFilters", func(t *testing.T) { runFilterContract(t, newStore) })

	t.Run("UpsertNodeCreatesThenUpdates", func(t *testing.T) {
		s := newStore(t)
		n, err := s.UpsertNode(ctx, Node{Host: "c1", HypervisorHostname: "c1.local", VCPUs: 8, MemoryMB: 16384, LocalGB: 100, ServiceID: 7})
		if err != nil {
			t.Fatal(err)
		}
		if n.ID == 0 || uuid.Validate(n.UUID) != nil || n.UpdatedAt != nil || n.ServiceID != 7 {
			t.Fatalf("created node = %+v", n)
		}
		n2, err := s.UpsertNode(ctx, Node{Host: "c1", HypervisorHostname: "c1.local", VCPUs: 8, VCPUsUsed: 2, MemoryMB: 16384, RunningVMs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if n2.ID != n.ID || n2.UUID != n.UUID || n2.VCPUsUsed != 2 || n2.RunningVMs != 1 || n2.UpdatedAt == nil || n2.ServiceID != 7 {
			t.Fatalf("updated node = %+v (first %+v)", n2, n)
		}
		if _, err := s.UpsertNode(ctx, Node{Host: "c2", HypervisorHostname: "c2.local"}); err != nil {
			t.Fatal(err)
		}
		nodes, err := s.ListNodes(ctx)
		if err != nil || len(nodes) != 2 || nodes[0].ID != n.ID {
			t.Fatalf("ListNodes = %+v, %v", nodes, err)
		}
		got, err := s.GetNode(ctx, n.ID)
		if err != nil || got.VCPUsUsed != 2 {
			t.Fatalf("GetNode = %+v, %v", got, err)
		}
		if _, err := s.GetNode(ctx, 999999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetNode(missing) err = %v", err)
		}
		if _, err := s.UpsertNode(ctx, Node{Host: "c3"}); err == nil {
			t.Fatal("node without hypervisor_hostname accepted")
		}
	})

	t.Run("ConcurrentUpsertsOfOneNodeKeepOneRow", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := s.UpsertNode(ctx, Node{Host: "h", HypervisorHostname: "h", VCPUsUsed: i})
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		nodes, _ := s.ListNodes(ctx)
		if len(nodes) != 1 {
			t.Fatalf("%d rows after concurrent upserts", len(nodes))
		}
	})

	t.Run("InstanceLifecycle", func(t *testing.T) {
		s := newStore(t)
		in, err := s.CreateInstance(ctx, Instance{DisplayName: "vm1", ProjectID: "p1", UserID: "u1", FlavorID: "1", VCPUs: 1, MemoryMB: 512, RootGB: 1, TaskState: states.TaskScheduling})
		if err != nil {
			t.Fatal(err)
		}
		if in.ID == 0 || in.VMState != "building" || in.TaskState != "scheduling" || in.Host != "" {
			t.Fatalf("created = %+v", in)
		}
		if _, err := s.CreateInstance(ctx, Instance{UUID: in.UUID}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate uuid err = %v", err)
		}
		if _, err := s.CreateInstance(ctx, Instance{UUID: "not-a-uuid"}); err == nil {
			t.Fatal("bad uuid accepted")
		}
		host, active, none := "c1", states.VMActive, states.TaskNone
		running := states.PowerRunning
		now := time.Now().UTC().Truncate(time.Microsecond)
		up, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{Host: &host, Node: &host, VMState: &active, TaskState: &none, PowerState: &running, LaunchedAt: &now})
		if err != nil {
			t.Fatal(err)
		}
		if up.Host != "c1" || up.VMState != "active" || up.TaskState != "" || up.PowerState != 1 || up.LaunchedAt == nil || !up.LaunchedAt.Equal(now) || up.UpdatedAt == nil {
			t.Fatalf("updated = %+v", up)
		}
		// Conditional update: expected task state mismatch.
		deleting, rebooting := states.TaskDeleting, states.TaskRebooting
		if _, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{TaskState: &deleting, ExpectTaskState: &rebooting}); !errors.Is(err, ErrConflict) {
			t.Fatalf("mismatched expected task state err = %v", err)
		}
		if _, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{TaskState: &deleting, ExpectTaskState: &none}); err != nil {
			t.Fatalf("matching expected task state: %v", err)
		}
		if n, err := s.CountInstancesByHost(ctx, "c1"); err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
		if err := s.DeleteInstance(ctx, in.UUID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetInstance(ctx, in.UUID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get after delete err = %v", err)
		}
		if err := s.DeleteInstance(ctx, in.UUID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete err = %v", err)
		}
		if _, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{VMState: &active}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update after delete err = %v", err)
		}
		if n, _ := s.CountInstancesByHost(ctx, "c1"); n != 0 {
			t.Fatalf("count after delete = %d", n)
		}
		if _, err := s.GetInstance(ctx, "garbage"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get(garbage) err = %v", err)
		}
	})

	t.Run("MetadataAndFaultRoundTrip", func(t *testing.T) {
		s := newStore(t)
		md := map[string]string{"role": "web", "My Server Name": "Apache1"}
		in, err := s.CreateInstance(ctx, Instance{DisplayName: "md", Metadata: md})
		if err != nil {
			t.Fatal(err)
		}
		md["role"] = "changed by the caller after create"
		got, err := s.GetInstance(ctx, in.UUID)
		if err != nil || len(got.Metadata) != 2 || got.Metadata["role"] != "web" || got.Metadata["My Server Name"] != "Apache1" {
			t.Fatalf("metadata = %v, %v", got.Metadata, err)
		}
		if got.Fault != nil {
			t.Fatalf("new instance has a fault: %+v", got.Fault)
		}
		plain, _ := s.CreateInstance(ctx, Instance{DisplayName: "no-md"})
		if plain.Metadata == nil || len(plain.Metadata) != 0 {
			t.Fatalf("metadata of an instance created without = %#v, want empty", plain.Metadata)
		}
		errState := states.VMError
		up, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{VMState: &errState, Fault: &Fault{Code: 500, Message: "No valid host was found. "}})
		if err != nil {
			t.Fatal(err)
		}
		if up.Fault == nil || up.Fault.Code != 500 || up.Fault.Message != "No valid host was found. " || up.Fault.Created.IsZero() {
			t.Fatalf("fault after update = %+v", up.Fault)
		}
		list, _ := s.ListInstances(ctx, InstanceFilter{})
		for _, l := range list {
			if l.UUID == in.UUID && (l.Fault == nil || l.Metadata["role"] != "web") {
				t.Fatalf("listed instance lost its fault or metadata: %+v", l)
			}
		}
	})

	t.Run("DeleteNodesByHost", func(t *testing.T) {
		s := newStore(t)
		for _, h := range []string{"gone", "stays"} {
			if _, err := s.UpsertNode(ctx, Node{Host: h, HypervisorHostname: h}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteNodesByHost(ctx, "gone")
		if err != nil || n != 1 {
			t.Fatalf("DeleteNodesByHost = %d, %v", n, err)
		}
		nodes, _ := s.ListNodes(ctx)
		if len(nodes) != 1 || nodes[0].Host != "stays" {
			t.Fatalf("nodes after delete: %+v", nodes)
		}
		if n, _ := s.DeleteNodesByHost(ctx, "gone"); n != 0 {
			t.Fatalf("second delete removed %d", n)
		}
		// A host that comes back gets a fresh node row.
		again, err := s.UpsertNode(ctx, Node{Host: "gone", HypervisorHostname: "gone"})
		if err != nil || again.UpdatedAt != nil {
			t.Fatalf("re-created node = %+v, %v", again, err)
		}
	})

	t.Run("ListNewestFirstWithFiltersAndPaging", func(t *testing.T) {
		s := newStore(t)
		var ids []string
		for i := 0; i < 7; i++ {
			proj := "p1"
			if i%2 == 1 {
				proj = "p2"
			}
			in, err := s.CreateInstance(ctx, Instance{DisplayName: fmt.Sprintf("vm%d", i), ProjectID: proj, Host: fmt.Sprintf("c%d", i%3)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, in.UUID)
		}
		all, err := s.ListInstances(ctx, InstanceFilter{})
		if err != nil || len(all) != 7 {
			t.Fatalf("list all = %d, %v", len(all), err)
		}
		for i := range all {
			if all[i].UUID != ids[6-i] {
				t.Fatalf("order: position %d is %s, want %s", i, all[i].DisplayName, fmt.Sprintf("vm%d", 6-i))
			}
		}
		p1, _ := s.ListInstances(ctx, InstanceFilter{ProjectID: "p1"})
		if len(p1) != 4 {
			t.Fatalf("project filter: %d", len(p1))
		}
		c0, _ := s.ListInstances(ctx, InstanceFilter{Host: "c0"})
		if len(c0) != 3 {
			t.Fatalf("host filter: %d", len(c0))
		}
		var paged []string
		marker := ""
		for {
			page, err := s.ListInstances(ctx, InstanceFilter{Limit: 3, Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range page {
				paged = append(paged, in.UUID)
			}
			if len(page) < 3 {
				break
			}
			marker = page[len(page)-1].UUID
		}
		if len(paged) != 7 || paged[0] != ids[6] || paged[6] != ids[0] {
			t.Fatalf("paging gave %d items", len(paged))
		}
		if _, err := s.ListInstances(ctx, InstanceFilter{Marker: uuid.NewString()}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown marker err = %v", err)
		}
	})
}

// filterFixture is the rows every filter case runs over.
type filterFixture struct {
	byName  map[string]Instance
	deleted string // uuid of a deleted instance
}

func buildFilterFixture(ctx context.Context, t *testing.T, s Store) filterFixture {
	t.Helper()
	fx := filterFixture{byName: map[string]Instance{}}
	rows := []struct {
		name, user, project, host, image, flavor string
		vm                                       states.VMState
		task                                     states.TaskState
		power                                    states.PowerState
	}{
		{"web-1", "u1", "p1", "c1", "img-a", "1", states.VMActive, states.TaskNone, states.PowerRunning},
		{"web-2", "u2", "p1", "c2", "img-b", "2", states.VMActive, states.TaskRebooting, states.PowerRunning},
		{"db-1", "u1", "p1", "c1", "img-a", "2", states.VMStopped, states.TaskNone, states.PowerShutdown},
		{"Web-3", "u3", "p2", "", "img-a", "1", states.VMBuilding, states.TaskScheduling, states.PowerNoState},
		{"cache", "u3", "p2", "c2", "img-b", "3", states.VMError, states.TaskNone, states.PowerNoState},
		{"soft", "u1", "p1", "c1", "img-a", "1", states.VMSoftDeleted, states.TaskNone, states.PowerShutdown},
		{"gone", "u1", "p1", "c1", "img-a", "1", states.VMActive, states.TaskNone, states.PowerRunning},
	}
	for _, r := range rows {
		in, err := s.CreateInstance(ctx, Instance{DisplayName: r.name, UserID: r.user, ProjectID: r.project, ImageRef: r.image, FlavorID: r.flavor})
		if err != nil {
			t.Fatal(err)
		}
		vm, task, power := r.vm, r.task, r.power
		u := InstanceUpdate{VMState: &vm, TaskState: &task, PowerState: &power}
		if r.host != "" {
			host, node := r.host, r.host+".node"
			u.Host, u.Node = &host, &node
		}
		if in, err = s.UpdateInstance(ctx, in.UUID, u); err != nil {
			t.Fatal(err)
		}
		fx.byName[r.name] = in
		time.Sleep(2 * time.Millisecond) // distinct created_at and updated_at
	}
	if err := s.DeleteInstance(ctx, fx.byName["gone"].UUID); err != nil {
		t.Fatal(err)
	}
	fx.deleted = fx.byName["gone"].UUID
	return fx
}

func names(list []Instance) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.DisplayName
	}
	return out
}

func sortedNames(list []Instance) string {
	n := names(list)
	slices.Sort(n)
	return strings.Join(n, ",")
}

// runFilterContract: every filter of nova's server list, on both stores.
func runFilterContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	fx := buildFilterFixture(ctx, t, s)
	yes, no := true, false
	since := *fx.byName["cache"].UpdatedAt
	before := *fx.byName["db-1"].UpdatedAt
	cases := []struct {
		name string
		f    InstanceFilter
		want string // sorted display names
	}{
		{"zero value: live rows, soft-deleted too", InstanceFilter{}, "Web-3,cache,db-1,soft,web-1,web-2"},
		{"hide soft-deleted (nova's default)", InstanceFilter{SoftDeleted: HideSoftDeleted}, "Web-3,cache,db-1,web-1,web-2"},
		{"deleted only", InstanceFilter{Deleted: DeletedOnly}, "gone"},
		{"deleted and soft-deleted", InstanceFilter{Deleted: DeletedOnly, SoftDeleted: AddSoftDeleted}, "gone,soft"},
		{"live and deleted", InstanceFilter{Deleted: LiveAndDeleted}, "Web-3,cache,db-1,gone,soft,web-1,web-2"},
		{"project", InstanceFilter{ProjectID: "p2"}, "Web-3,cache"},
		{"name regex is re.search", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColDisplayName: pyregex.MustCompile("eb-")}}, "Web-3,web-1,web-2"},
		{"name regex anchored", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColDisplayName: pyregex.MustCompile(`^web-\d$`)}}, "web-1,web-2"},
		{"name regex case-insensitive", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColDisplayName: pyregex.MustCompile(`(?i)^WEB`)}}, "Web-3,web-1,web-2"},
		{"name regex that quotes", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColDisplayName: pyregex.MustCompile(`'; DROP TABLE instances; --`)}}, ""},
		{"node regex; NULL never matches", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColNode: pyregex.MustCompile(`.*`)}}, "cache,db-1,soft,web-1,web-2"},
		{"power_state regex on its number", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColPowerState: pyregex.MustCompile(`^4$`)}}, "db-1,soft"},
		{"availability zone of scheduled instances", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColAvailabilityZone: pyregex.MustCompile(`^nova$`)}}, "cache,db-1,soft,web-1,web-2"},
		{"created_at as text", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColCreatedAt: pyregex.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)}}, "Web-3,cache,db-1,soft,web-1,web-2"},
		{"user", InstanceFilter{Exact: map[Column][]string{ColUserID: {"u1"}}}, "db-1,soft,web-1"},
		{"image", InstanceFilter{Exact: map[Column][]string{ColImageRef: {"img-b"}}}, "cache,web-2"},
		{"flavor", InstanceFilter{Exact: map[Column][]string{ColFlavorID: {"2"}}}, "db-1,web-2"},
		{"unknown flavor", InstanceFilter{Exact: map[Column][]string{ColFlavorID: {"42"}}}, ""},
		{"vm states", InstanceFilter{Exact: map[Column][]string{ColVMState: {"active", "stopped"}}}, "db-1,web-1,web-2"},
		{"vm and task states (REBOOT)", InstanceFilter{Exact: map[Column][]string{ColVMState: {"active"}, ColTaskState: {"reboot_pending", "reboot_started", "rebooting"}}}, "web-2"},
		{"empty list matches nothing", InstanceFilter{Exact: map[Column][]string{ColVMState: {}}}, ""},
		{"host", InstanceFilter{Exact: map[Column][]string{ColHost: {"c2"}}}, "cache,web-2"},
		{"host '' matches no unscheduled instance", InstanceFilter{Exact: map[Column][]string{ColHost: {""}}}, ""},
		{"task_state '' is not NULL", InstanceFilter{Exact: map[Column][]string{ColTaskState: {""}}}, ""},
		{"uuid, any case", InstanceFilter{Exact: map[Column][]string{ColUUID: {strings.ToUpper(fx.byName["db-1"].UUID)}}}, "db-1"},
		{"uuid that is not one", InstanceFilter{Exact: map[Column][]string{ColUUID: {"db-1"}}}, ""},
		{"changes-since", InstanceFilter{ChangesSince: &since}, "cache,soft"},
		{"changes-since with deleted rows", InstanceFilter{ChangesSince: &since, Deleted: LiveAndDeleted}, "cache,gone,soft"},
		{"changes-before", InstanceFilter{ChangesBefore: &before}, "db-1,web-1,web-2"},
		{"changes between", InstanceFilter{ChangesSince: &before, ChangesBefore: &since}, "Web-3,cache,db-1"},
		{"locked", InstanceFilter{Locked: &yes}, ""},
		{"unlocked", InstanceFilter{Locked: &no, SoftDeleted: HideSoftDeleted}, "Web-3,cache,db-1,web-1,web-2"},
		{"tags", InstanceFilter{Tags: []string{"a"}}, ""},
		{"tags-any", InstanceFilter{TagsAny: []string{"a", "b"}}, ""},
		{"not-tags", InstanceFilter{NotTags: []string{"a"}, SoftDeleted: HideSoftDeleted}, "Web-3,cache,db-1,web-1,web-2"},
		{"not-tags-any", InstanceFilter{NotTagsAny: []string{"a"}, SoftDeleted: HideSoftDeleted}, "Web-3,cache,db-1,web-1,web-2"},
		{"combined", InstanceFilter{ProjectID: "p1", SoftDeleted: HideSoftDeleted, Regex: map[Column]*pyregex.Regex{ColDisplayName: pyregex.MustCompile("1")},
			Exact: map[Column][]string{ColHost: {"c1"}}}, "db-1,web-1"},
	}
	for _, c := range cases {
		got, err := s.ListInstances(ctx, c.f)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if sortedNames(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, sortedNames(got), c.want)
		}
	}

	// Orders, and paging through each gives the unpaged list.
	all := InstanceFilter{Deleted: LiveAndDeleted}
	orders := []struct {
		sort []SortKey
		want string // "" when only paging is checked
	}{
		{nil, "gone,soft,cache,Web-3,db-1,web-2,web-1"},
		{[]SortKey{{ColDisplayName, false}}, "Web-3,cache,db-1,gone,soft,web-1,web-2"},
		{[]SortKey{{ColDisplayName, true}}, "web-2,web-1,soft,gone,db-1,cache,Web-3"},
		{[]SortKey{{ColHost, false}, {ColDisplayName, false}}, "db-1,gone,soft,web-1,cache,web-2,Web-3"},
		{[]SortKey{{ColHost, true}, {ColDisplayName, true}}, "Web-3,web-2,cache,web-1,soft,gone,db-1"},
		{[]SortKey{{ColTaskState, false}, {ColCreatedAt, true}}, ""},
		{[]SortKey{{ColPowerState, true}, {ColUUID, false}}, ""},
		{[]SortKey{{ColUpdatedAt, false}}, ""},
		{[]SortKey{{ColAvailabilityZone, true}, {ColVMState, false}, {ColUserID, true}}, ""},
	}
	for _, o := range orders {
		f := all
		f.Sort = o.sort
		full, err := s.ListInstances(ctx, f)
		if err != nil {
			t.Fatalf("sort %v: %v", o.sort, err)
		}
		if o.want != "" && strings.Join(names(full), ",") != o.want {
			t.Errorf("sort %v: %s, want %s", o.sort, strings.Join(names(full), ","), o.want)
		}
		var paged []Instance
		f.Limit = 2
		for {
			page, err := s.ListInstances(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if len(page) < 2 {
				break
			}
			f.Marker = page[len(page)-1].UUID
		}
		if strings.Join(names(paged), ",") != strings.Join(names(full), ",") {
			t.Errorf("sort %v: paged %v, unpaged %v", o.sort, names(paged), names(full))
		}
	}
	// A marker may be a deleted instance or another project's, as in nova.
	page, err := s.ListInstances(ctx, InstanceFilter{ProjectID: "p2", Marker: fx.deleted})
	if err != nil || sortedNames(page) != "Web-3,cache" {
		t.Errorf("after a deleted marker: %v, %v", names(page), err)
	}
	if _, err := s.ListInstances(ctx, InstanceFilter{Marker: "not-a-uuid"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("marker not-a-uuid: %v", err)
	}
	if _, err := s.ListInstances(ctx, InstanceFilter{Sort: []SortKey{{"key_data", false}}}); err == nil {
		t.Error("sorting by an unknown column was accepted")
	}
	if _, err := s.ListInstances(ctx, InstanceFilter{Exact: map[Column][]string{ColDisplayName: {"x"}}}); err == nil {
		t.Error("an exact filter on a regex column was accepted")
	}
}
