package computedb

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/pyregex"
)

// runAggregateContract: both stores keep aggregates, their hosts and
// metadata alike, with nova's refusals.
func runAggregateContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	str := func(s string) *string { return &s }

	t.Run("AggregateCRUD", func(t *testing.T) {
		s := newStore(t)
		a, err := s.CreateAggregate(ctx, "agg1", map[string]string{"availability_zone": "az1"})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || uuid.Validate(a.UUID) != nil || a.Name != "agg1" || a.AvailabilityZone() != "az1" ||
			len(a.Hosts) != 0 || a.Hosts == nil || a.UpdatedAt != nil || a.CreatedAt.IsZero() {
			t.Fatalf("created = %+v", a)
		}
		if _, err := s.CreateAggregate(ctx, "agg1", nil); !errors.Is(err, ErrAggregateNameExists) {
			t.Fatalf("duplicate name: %v", err)
		}
		b, err := s.CreateAggregate(ctx, "agg2", nil)
		if err != nil || b.Metadata == nil || len(b.Metadata) != 0 || b.AvailabilityZone() != "" {
			t.Fatalf("second = %+v, %v", b, err)
		}
		if _, err := s.RenameAggregate(ctx, b.ID, "agg1"); !errors.Is(err, ErrAggregateNameExists) {
			t.Fatalf("rename onto a taken name: %v", err)
		}
		b, err = s.RenameAggregate(ctx, b.ID, "agg2b")
		if err != nil || b.Name != "agg2b" || b.UpdatedAt == nil {
			t.Fatalf("renamed = %+v, %v", b, err)
		}
		if _, err := s.RenameAggregate(ctx, b.ID, "agg2b"); err != nil {
			t.Fatalf("rename to its own name: %v", err)
		}
		a, err = s.UpdateAggregateMetadata(ctx, a.ID, map[string]*string{"k": str("v"), "availability_zone": str("az2"), "gone": nil})
		if err != nil || a.Metadata["k"] != "v" || a.AvailabilityZone() != "az2" || len(a.Metadata) != 2 || a.UpdatedAt == nil {
			t.Fatalf("metadata = %+v, %v", a, err)
		}
		a, err = s.UpdateAggregateMetadata(ctx, a.ID, map[string]*string{"k": nil})
		if err != nil || len(a.Metadata) != 1 {
			t.Fatalf("metadata after removing k = %+v, %v", a, err)
		}
		list, err := s.ListAggregates(ctx)
		if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].Name != "agg2b" || list[0].AvailabilityZone() != "az2" {
			t.Fatalf("list = %+v, %v", list, err)
		}
		got, err := s.GetAggregate(ctx, a.ID)
		if err != nil || got.Name != "agg1" || got.UUID != a.UUID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if err := s.DeleteAggregate(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{b.ID, 0, -1, 1 << 40} {
			if _, err := s.GetAggregate(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("get %d: %v", id, err)
			}
			if err := s.DeleteAggregate(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("delete %d: %v", id, err)
			}
			if _, err := s.AddAggregateHost(ctx, id, "h"); !errors.Is(err, ErrNotFound) {
				t.Errorf("add host to %d: %v", id, err)
			}
			if _, err := s.UpdateAggregateMetadata(ctx, id, map[string]*string{"a": str("b")}); !errors.Is(err, ErrNotFound) {
				t.Errorf("metadata of %d: %v", id, err)
			}
		}
		if _, err := s.CreateAggregate(ctx, "agg2b", nil); err != nil {
			t.Fatalf("a deleted aggregate's name is free again: %v", err)
		}
	})

	t.Run("AggregateHosts", func(t *testing.T) {
		s := newStore(t)
		a, err := s.CreateAggregate(ctx, "hosts", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"c2", "c1", "c3"} {
			if a, err = s.AddAggregateHost(ctx, a.ID, h); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(a.Hosts, []string{"c2", "c1", "c3"}) {
			t.Fatalf("hosts = %v, want the order added", a.Hosts)
		}
		if _, err := s.AddAggregateHost(ctx, a.ID, "c1"); !errors.Is(err, ErrAggregateHostExists) {
			t.Fatalf("duplicate host: %v", err)
		}
		if err := s.DeleteAggregate(ctx, a.ID); !errors.Is(err, ErrAggregateNotEmpty) {
			t.Fatalf("deleting an aggregate with hosts: %v", err)
		}
		if a, err = s.RemoveAggregateHost(ctx, a.ID, "c1"); err != nil || !slices.Equal(a.Hosts, []string{"c2", "c3"}) {
			t.Fatalf("after remove = %v, %v", a.Hosts, err)
		}
		if _, err := s.RemoveAggregateHost(ctx, a.ID, "c1"); !errors.Is(err, ErrAggregateHostNotFound) {
			t.Fatalf("removing a missing host: %v", err)
		}
		b, _ := s.CreateAggregate(ctx, "other", map[string]string{"availability_zone": "az"})
		if _, err := s.AddAggregateHost(ctx, b.ID, "c2"); err != nil {
			t.Fatalf("a host in two aggregates: %v", err)
		}
		aggs, _ := s.ListAggregates(ctx)
		if z := HostZones(aggs, "c2"); !slices.Equal(z, []string{"az"}) {
			t.Fatalf("zones of c2 = %v", z)
		}
		if z := HostZones(aggs, "c3"); len(z) != 0 {
			t.Fatalf("zones of c3 = %v", z)
		}
		for _, h := range []string{"c2", "c3"} {
			if _, err := s.RemoveAggregateHost(ctx, a.ID, h); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteAggregate(ctx, a.ID); err != nil {
			t.Fatalf("deleting the emptied aggregate: %v", err)
		}
	})

	t.Run("AggregateRefusals", func(t *testing.T) {
		s := newStore(t)
		long := string(make([]rune, 256))
		for _, name := range []string{"", "bad\x00", string([]byte{0xff}), long} {
			if _, err := s.CreateAggregate(ctx, name, nil); !errors.Is(err, ErrInvalid) {
				t.Errorf("name %q: %v", name, err)
			}
		}
		a, _ := s.CreateAggregate(ctx, "ok", nil)
		if _, err := s.UpdateAggregateMetadata(ctx, a.ID, map[string]*string{"k": str("v\x00")}); !errors.Is(err, ErrInvalid) {
			t.Errorf("NUL value: %v", err)
		}
		if _, err := s.AddAggregateHost(ctx, a.ID, "h\x00"); !errors.Is(err, ErrInvalid) {
			t.Errorf("NUL host: %v", err)
		}
	})

	// A delete racing host additions either deletes the aggregate before
	// any host was added or fails as not empty: no host is silently lost.
	t.Run("AggregateDeleteRacesAddHost", func(t *testing.T) {
		s := newStore(t)
		for round := 0; round < 10; round++ {
			a, err := s.CreateAggregate(ctx, "race", nil)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var addErr, delErr error
			wg.Add(2)
			go func() { defer wg.Done(); _, addErr = s.AddAggregateHost(ctx, a.ID, "h") }()
			go func() { defer wg.Done(); delErr = s.DeleteAggregate(ctx, a.ID) }()
			wg.Wait()
			switch {
			case addErr == nil && errors.Is(delErr, ErrAggregateNotEmpty):
				got, err := s.GetAggregate(ctx, a.ID)
				if err != nil || !slices.Equal(got.Hosts, []string{"h"}) {
					t.Fatalf("round %d: kept %+v, %v", round, got, err)
				}
				if _, err := s.RemoveAggregateHost(ctx, a.ID, "h"); err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteAggregate(ctx, a.ID); err != nil {
					t.Fatal(err)
				}
			case delErr == nil && errors.Is(addErr, ErrNotFound):
			default:
				t.Fatalf("round %d: add %v, delete %v", round, addErr, delErr)
			}
		}
	})

	t.Run("InstanceAvailabilityZone", func(t *testing.T) {
		s := newStore(t)
		in, err := s.CreateInstance(ctx, Instance{DisplayName: "z", ProjectID: "p", AvailabilityZone: "az1"})
		if err != nil || in.AvailabilityZone != "az1" {
			t.Fatalf("created = %+v, %v", in, err)
		}
		got, err := s.GetInstance(ctx, in.UUID)
		if err != nil || got.AvailabilityZone != "az1" {
			t.Fatalf("got = %+v, %v", got, err)
		}
		none, err := s.CreateInstance(ctx, Instance{DisplayName: "n", ProjectID: "p", VCPUs: 1})
		if err != nil || none.AvailabilityZone != "" {
			t.Fatalf("without zone = %+v, %v", none, err)
		}
		// The claim records the placed host's zone; one without keeps it.
		n, err := s.UpsertNode(ctx, Node{Host: "h", HypervisorHostname: "h.n", VCPUs: 4, MemoryMB: 4096, LocalGB: 40})
		if err != nil {
			t.Fatal(err)
		}
		placed, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: none.UUID, NodeID: n.ID, AvailabilityZone: "az9"})
		if err != nil || placed.AvailabilityZone != "az9" || placed.Host != "h" {
			t.Fatalf("claimed = %+v, %v", placed, err)
		}
		placed, err = s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: n.ID})
		if err != nil || placed.AvailabilityZone != "az1" {
			t.Fatalf("claimed without a zone = %+v, %v", placed, err)
		}
		list, err := s.ListInstances(ctx, InstanceFilter{Regex: map[Column]*pyregex.Regex{ColAvailabilityZone: pyregex.MustCompile("^az9$")}})
		if err != nil || len(list) != 1 || list[0].UUID != none.UUID {
			t.Fatalf("availability_zone filter = %+v, %v", list, err)
		}
	})
}
