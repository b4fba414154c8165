package computedb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	runClaimContract(t, newStore)
	runAggregateContract(t, newStore)
	t.Run("Flavors", func(t *testing.T) { runFlavorContract(t, newStore) })
	t.Run("KeyPairs", func(t *testing.T) { runKeyPairContract(t, newStore) })
	t.Run("EditInstance", func(t *testing.T) { runEditContract(t, newStore) })
	t.Run("Quotas", func(t *testing.T) { runQuotaContract(t, newStore) })
	t.Run("UsageWindow", func(t *testing.T) { runUsageContract(t, newStore) })

	t.Run("ListFilters", func(t *testing.T) { runFilterContract(t, newStore) })
	t.Run("Actions", func(t *testing.T) { runActionContract(t, newStore) })
	t.Run("Resize", func(t *testing.T) { runResizeContract(t, newStore) })
	t.Run("RebuildAndUpdateFields", func(t *testing.T) { runUpdateFieldsContract(t, newStore) })
	t.Run("Reservation", func(t *testing.T) { runReservationContract(t, newStore) })

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

	t.Run("RefusesWhatPostgresRefuses", func(t *testing.T) { contractRefusals(t, newStore(t)) })
	t.Run("UUIDSpellings", func(t *testing.T) { contractUUIDSpellings(t, newStore(t)) })
	t.Run("ClaimInputs", func(t *testing.T) { contractClaimInputs(t, newStore(t)) })

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
		sched, vmErr := states.TaskScheduling, states.VMError
		if _, err := s.UpdateInstance(ctx, ids[1], InstanceUpdate{TaskState: &sched}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateInstance(ctx, ids[2], InstanceUpdate{TaskState: &sched, VMState: &vmErr}); err != nil {
			t.Fatal(err)
		}
		stuck, err := s.ListInstances(ctx, InstanceFilter{VMState: states.VMBuilding, TaskState: states.TaskScheduling})
		if err != nil || len(stuck) != 1 || stuck[0].UUID != ids[1] {
			t.Fatalf("vm_state and task_state filter: %+v, %v", stuck, err)
		}
		if errored, _ := s.ListInstances(ctx, InstanceFilter{VMState: states.VMError, Host: "c2"}); len(errored) != 1 || errored[0].UUID != ids[2] {
			t.Fatalf("vm_state and host filter: %+v", errored)
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
		tags                                     []string
	}{
		{"web-1", "u1", "p1", "c1", "img-a", "1", states.VMActive, states.TaskNone, states.PowerRunning, []string{"b", "a"}},
		{"web-2", "u2", "p1", "c2", "img-b", "2", states.VMActive, states.TaskRebooting, states.PowerRunning, []string{"b"}},
		{"db-1", "u1", "p1", "c1", "img-a", "2", states.VMStopped, states.TaskNone, states.PowerShutdown, []string{"a", "c"}},
		{"Web-3", "u3", "p2", "", "img-a", "1", states.VMBuilding, states.TaskScheduling, states.PowerNoState, nil},
		{"cache", "u3", "p2", "c2", "img-b", "3", states.VMError, states.TaskNone, states.PowerNoState, nil},
		{"soft", "u1", "p1", "c1", "img-a", "1", states.VMSoftDeleted, states.TaskNone, states.PowerShutdown, nil},
		{"gone", "u1", "p1", "c1", "img-a", "1", states.VMActive, states.TaskNone, states.PowerRunning, []string{"a"}},
	}
	for _, r := range rows {
		zone := "" // a placed instance has its host's zone, as the scheduler's claim records it
		if r.host != "" {
			zone = DefaultAvailabilityZone
		}
		in, err := s.CreateInstance(ctx, Instance{DisplayName: r.name, UserID: r.user, ProjectID: r.project, ImageRef: r.image, FlavorID: r.flavor,
			AvailabilityZone: zone, Tags: r.tags})
		if err != nil {
			t.Fatal(err)
		}
		vm, task, power := r.vm, r.task, r.power
		u := InstanceUpdate{VMState: &vm, TaskState: &task, PowerState: &power}
		if r.host != "" {
			host, node := r.host, r.host+".node"
			u.Host, u.Node = &host, &node
		}
		// db-1 locked by its owner, cache by an admin with a reason.
		lockedBy := map[string]string{"db-1": "owner", "cache": "admin"}[r.name]
		if lockedBy != "" {
			yes, reason := true, "why "+r.name
			u.Locked, u.LockedBy, u.LockedReason = &yes, &lockedBy, &reason
		}
		if in, err = s.UpdateInstance(ctx, in.UUID, u); err != nil {
			t.Fatal(err)
		}
		if lockedBy != "" && (!in.Locked || in.LockedBy != lockedBy || in.LockedReason != "why "+r.name) {
			t.Fatalf("locking %s: %+v", r.name, in)
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
		{"locked", InstanceFilter{Locked: &yes}, "cache,db-1"},
		{"unlocked", InstanceFilter{Locked: &no, SoftDeleted: HideSoftDeleted}, "Web-3,web-1,web-2"},
		{"locked in a project", InstanceFilter{Locked: &yes, ProjectID: "p1"}, "db-1"},
		{"locked_by regex; NULL never matches", InstanceFilter{Regex: map[Column]*pyregex.Regex{ColLockedBy: pyregex.MustCompile(`^adm`)}}, "cache"},
		{"tags", InstanceFilter{Tags: []string{"a"}}, "db-1,web-1"},
		{"tags, all of them", InstanceFilter{Tags: []string{"a", "b"}}, "web-1"},
		{"tags of deleted rows", InstanceFilter{Tags: []string{"a"}, Deleted: DeletedOnly}, "gone"},
		{"tags-any", InstanceFilter{TagsAny: []string{"a", "b"}}, "db-1,web-1,web-2"},
		{"tags-any unknown", InstanceFilter{TagsAny: []string{"zz"}}, ""},
		{"not-tags: not all of them", InstanceFilter{NotTags: []string{"a", "b"}, SoftDeleted: HideSoftDeleted}, "Web-3,cache,db-1,web-2"},
		{"not-tags-any: none of them", InstanceFilter{NotTagsAny: []string{"a"}, SoftDeleted: HideSoftDeleted}, "Web-3,cache,web-2"},
		{"tags and not-tags-any", InstanceFilter{Tags: []string{"a"}, NotTagsAny: []string{"c"}}, "web-1"},
		{"tags is case-sensitive", InstanceFilter{Tags: []string{"A"}}, ""},
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
		{[]SortKey{{ColLocked, true}, {ColDisplayName, false}}, "cache,db-1,Web-3,gone,soft,web-1,web-2"},
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

// runClaimContract: resource claims, the same in both stores.
func runClaimContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	one := AllocationRatios{CPU: 1, RAM: 1, Disk: 1}
	report := func(t *testing.T, s Store, host string, vcpus int, mem, disk int64) Node {
		t.Helper()
		n, err := s.ReportNode(ctx, Node{Host: host, HypervisorHostname: host + ".local", VCPUs: vcpus, MemoryMB: mem, LocalGB: disk,
			MemoryMBReserved: 512, CPUAllocationRatio: 1, RAMAllocationRatio: 1, DiskAllocationRatio: 1,
			VCPUsUsed: 999, MemoryMBUsed: 999, RunningVMs: 999}, AllocationRatios{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tiny := func(t *testing.T, s Store, vcpus int, mem int64) Instance {
		t.Helper()
		in, err := s.CreateInstance(ctx, Instance{ProjectID: "p", TaskState: states.TaskScheduling, VCPUs: vcpus, MemoryMB: mem, RootGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	node := func(t *testing.T, s Store, id int64) Node {
		t.Helper()
		n, err := s.GetNode(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	usage := func(n Node) string {
		return fmt.Sprintf("vcpus %d, memory %d MB, disk %d GB, free %d MB %d GB, %d vms",
			n.VCPUsUsed, n.MemoryMBUsed, n.LocalGBUsed, n.FreeRAMMB, n.FreeDiskGB, n.RunningVMs)
	}

	t.Run("ClaimsCountOnceAndReleaseOnce", func(t *testing.T) {
		s := newStore(t)
		a := report(t, s, "a", 4, 2048, 10)
		if got, want := usage(a), "vcpus 0, memory 512 MB, disk 0 GB, free 1536 MB 10 GB, 0 vms"; got != want {
			t.Fatalf("reported node: %s, want %s (the usage comes from claims, the reserved memory counts)", got, want)
		}
		if a.Ratios() != one || a.MemoryMBReserved != 512 {
			t.Fatalf("ratios %+v reserved %d", a.Ratios(), a.MemoryMBReserved)
		}
		in := tiny(t, s, 1, 512)
		scheduling := states.TaskScheduling
		got, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: a.ID, ExpectTaskState: &scheduling})
		if err != nil || got.Host != "a" || got.Node != "a.local" {
			t.Fatalf("claim: %+v, %v", got, err)
		}
		want := "vcpus 1, memory 1024 MB, disk 1 GB, free 1024 MB 9 GB, 1 vms"
		if u := usage(node(t, s, a.ID)); u != want {
			t.Fatalf("after a claim: %s, want %s", u, want)
		}
		// A claim already held there counts once.
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: a.ID}); err != nil {
			t.Fatalf("claim again: %v", err)
		}
		if u := usage(node(t, s, a.ID)); u != want {
			t.Fatalf("after the same claim twice: %s, want %s", u, want)
		}
		b := report(t, s, "b", 4, 2048, 10)
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: b.ID}); !errors.Is(err, ErrConflict) {
			t.Fatalf("a claim on a second node: %v", err)
		}
		// Refusals name what is short, as nova's claims did.
		big := tiny(t, s, 4, 512)
		_, err = s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: big.UUID, NodeID: a.ID})
		var ir *InsufficientResourcesError
		if !errors.As(err, &ir) || !errors.Is(err, ErrInsufficientResources) ||
			err.Error() != "Insufficient compute resources: Free vcpu 3.00 VCPU < requested 4 VCPU." {
			t.Fatalf("4 vcpus on 3 free: %v", err)
		}
		huge := tiny(t, s, 8, 4096)
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: huge.UUID, NodeID: b.ID}); err == nil ||
			err.Error() != "Insufficient compute resources: Free vcpu 4.00 VCPU < requested 8 VCPU; Free memory 1536.00 MB < requested 4096 MB." {
			t.Fatalf("8 vcpus and 4 GB on b: %v", err)
		}
		// An override of the ratios (a scheduler's) lets it in.
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: huge.UUID, NodeID: b.ID, Ratios: AllocationRatios{CPU: 2, RAM: 3}}); err != nil {
			t.Fatalf("with ratios 2 and 3: %v", err)
		}
		other := tiny(t, s, 1, 1)
		none := states.TaskNone
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: other.UUID, NodeID: a.ID, ExpectTaskState: &none}); !errors.Is(err, ErrConflict) {
			t.Fatalf("expected task state mismatch: %v", err)
		}
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: other.UUID, NodeID: 999999}); !errors.Is(err, ErrNodeNotFound) || errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown node: %v", err)
		}
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: uuid.NewString(), NodeID: a.ID}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown instance: %v", err)
		}

		// Release gives back once; a second release finds nothing.
		if ok, err := s.ReleaseClaim(ctx, in.UUID); !ok || err != nil {
			t.Fatalf("release: %v %v", ok, err)
		}
		if ok, err := s.ReleaseClaim(ctx, in.UUID); ok || err != nil {
			t.Fatalf("second release: %v %v", ok, err)
		}
		empty := "vcpus 0, memory 512 MB, disk 0 GB, free 1536 MB 10 GB, 0 vms"
		if u := usage(node(t, s, a.ID)); u != empty {
			t.Fatalf("after the release: %s, want %s", u, empty)
		}
		// Deleting an instance releases its claim with it.
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: a.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteInstance(ctx, in.UUID); err != nil {
			t.Fatal(err)
		}
		if u := usage(node(t, s, a.ID)); u != empty {
			t.Fatalf("after the delete: %s, want %s", u, empty)
		}
		if ok, err := s.ReleaseClaim(ctx, in.UUID); ok || err != nil {
			t.Fatalf("release after delete: %v %v", ok, err)
		}
		if ok, _ := s.ReleaseClaim(ctx, "not-a-uuid"); ok {
			t.Fatal("released a claim of garbage")
		}
	})

	t.Run("ReportNodeRecomputesUsageAndKeepsRatios", func(t *testing.T) {
		s := newStore(t)
		n, err := s.ReportNode(ctx, Node{Host: "r", HypervisorHostname: "r", VCPUs: 2, MemoryMB: 4096, LocalGB: 10}, AllocationRatios{CPU: 16, RAM: 1.5})
		if err != nil {
			t.Fatal(err)
		}
		if n.Ratios() != (AllocationRatios{CPU: 16, RAM: 1.5, Disk: 1}) {
			t.Fatalf("a new node takes the initial ratios (1.0 for none): %+v", n.Ratios())
		}
		if f := n.Free(AllocationRatios{}); f != (Resources{VCPUs: 32, MemoryMB: 6144, LocalGB: 10}) {
			t.Fatalf("free = %+v", f)
		}
		in := tiny(t, s, 3, 1024)
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: n.ID}); err != nil {
			t.Fatal(err)
		}
		// A write of wrong usage (UpsertNode writes what it is given) is
		// healed by the next report, which counts the claims.
		if _, err := s.UpsertNode(ctx, Node{Host: "r", HypervisorHostname: "r", VCPUs: 2, MemoryMB: 4096, LocalGB: 10, VCPUsUsed: 77}); err != nil {
			t.Fatal(err)
		}
		n, err = s.ReportNode(ctx, Node{Host: "r", HypervisorHostname: "r", VCPUs: 2, MemoryMB: 4096, LocalGB: 10, RAMAllocationRatio: 2}, AllocationRatios{CPU: 4, RAM: 4, Disk: 4})
		if err != nil {
			t.Fatal(err)
		}
		if n.VCPUsUsed != 3 || n.MemoryMBUsed != 1024 || n.LocalGBUsed != 1 || n.RunningVMs != 1 || n.FreeRAMMB != 3072 {
			t.Fatalf("usage after the report: %s", usage(n))
		}
		if n.Ratios() != (AllocationRatios{CPU: 16, RAM: 2, Disk: 1}) {
			t.Fatalf("a configured ratio is written, the others kept (initial ones only apply to new nodes): %+v", n.Ratios())
		}
		if n.UpdatedAt == nil {
			t.Fatal("updated_at not set")
		}
	})

	t.Run("ConcurrentClaimsNeverExceedCapacity", func(t *testing.T) {
		s := newStore(t)
		const slots, instances = 4, 100
		nodes := []Node{report(t, s, "c1", slots, 1<<20, 1000), report(t, s, "c2", slots, 1<<20, 1000)}
		var ins []Instance
		for range instances {
			ins = append(ins, tiny(t, s, 1, 512))
		}
		stop := make(chan struct{})
		var bg sync.WaitGroup
		var over atomic.Value
		// The compute's periodic report and a watcher, all along.
		for _, n := range nodes {
			bg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.ReportNode(ctx, Node{Host: n.Host, HypervisorHostname: n.HypervisorHostname, VCPUs: slots, MemoryMB: 1 << 20, LocalGB: 1000,
						MemoryMBReserved: 512}, one); err != nil {
						t.Error(err)
						return
					}
					if got, err := s.GetNode(ctx, n.ID); err == nil && got.VCPUsUsed > slots {
						over.Store(usage(got))
					}
				}
			})
		}
		var claimed atomic.Int64
		var wg sync.WaitGroup
		for _, in := range ins {
			wg.Go(func() {
				for _, n := range nodes {
					_, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: n.ID})
					if err == nil {
						claimed.Add(1)
						return
					}
					if !errors.Is(err, ErrInsufficientResources) {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if claimed.Load() != 2*slots {
			t.Errorf("%d claims succeeded, want %d", claimed.Load(), 2*slots)
		}
		for _, n := range nodes {
			if got := node(t, s, n.ID); got.VCPUsUsed != slots || got.RunningVMs != slots {
				t.Errorf("node %s: %s", n.Host, usage(got))
			}
		}
		// Releases and deletes racing each other give each claim back once.
		var released atomic.Int64
		for _, in := range ins {
			for i := range 5 {
				wg.Go(func() {
					if i == 0 {
						if err := s.DeleteInstance(ctx, in.UUID); err != nil {
							t.Error(err)
						}
						return
					}
					ok, err := s.ReleaseClaim(ctx, in.UUID)
					if err != nil {
						t.Error(err)
					}
					if ok {
						released.Add(1)
					}
				})
			}
		}
		wg.Wait()
		close(stop)
		bg.Wait()
		if v := over.Load(); v != nil {
			t.Errorf("a node went over capacity: %s", v)
		}
		if released.Load() > 2*slots {
			t.Errorf("%d releases for %d claims", released.Load(), 2*slots)
		}
		for _, n := range nodes {
			if got := node(t, s, n.ID); got.VCPUsUsed != 0 || got.MemoryMBUsed != 512 || got.RunningVMs != 0 {
				t.Errorf("node %s after every release: %s (a claim given back twice, or not at all)", n.Host, usage(got))
			}
		}
	})
}
