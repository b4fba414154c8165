package scheduler

import (
	"context"
	"errors"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

// An instance asking for a zone goes to that zone's hosts only (a host in
// no zone aggregate is in the default zone); a forced host or node pins it.
func TestScheduleAvailabilityZoneAndForcedHost(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := mk(t)
			// big has the most free RAM: without a zone it wins.
			f.host(t, "big", 64, 1<<20, 1000)
			f.host(t, "small-a", 8, 8192, 100)
			f.host(t, "small-b", 8, 4096, 100)
			agg, err := f.compute.CreateAggregate(ctx, "rack-a", map[string]string{"availability_zone": "az-a"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.compute.AddAggregateHost(ctx, agg.ID, "small-a"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.compute.AddAggregateHost(ctx, agg.ID, "small-b"); err != nil {
				t.Fatal(err)
			}
			s := New(f.services, f.compute, Options{Logger: quiet, DefaultAvailabilityZone: "nova"})
			pending := func(zone string) computedb.Instance {
				in, err := f.compute.CreateInstance(ctx, computedb.Instance{ProjectID: "p", TaskState: states.TaskScheduling,
					VCPUs: 1, MemoryMB: 512, RootGB: 1, AvailabilityZone: zone})
				if err != nil {
					t.Fatal(err)
				}
				return in
			}
			for zone, want := range map[string]string{"": "big", "nova": "big", "az-a": "small-a"} {
				out, err := s.Schedule(ctx, pending(zone))
				if err != nil || out.Host != want {
					t.Fatalf("zone %q: placed on %q (%v), want %q", zone, out.Host, err, want)
				}
			}
			if _, err := s.Schedule(ctx, pending("az-none")); !errors.Is(err, ErrNoValidHost) {
				t.Fatalf("a zone without hosts: %v", err)
			}
			out, err := s.ScheduleForced(ctx, pending("az-a"), Force{Host: "small-b"})
			if err != nil || out.Host != "small-b" {
				t.Fatalf("forced host: %q %v", out.Host, err)
			}
			out, err = s.ScheduleForced(ctx, pending(""), Force{Node: "small-b-n"})
			if err != nil || out.Node != "small-b-n" {
				t.Fatalf("forced node: %q %v", out.Node, err)
			}
			if _, err := s.ScheduleForced(ctx, pending(""), Force{Host: "nope"}); !errors.Is(err, ErrNoValidHost) {
				t.Fatalf("forced to an unknown host: %v", err)
			}
		})
	}
}
