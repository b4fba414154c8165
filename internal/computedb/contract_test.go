package computedb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
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
