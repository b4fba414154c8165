package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/registrytest"
)

func TestContract(t *testing.T) {
	registrytest.RunContract(t, func(*testing.T) registry.Store { return memstore.New(nil) })
}

// The store's clock is the injected one: heartbeats and List's "now" follow it.
func TestInjectedClock(t *testing.T) {
	ctx := context.Background()
	fc := clocktest.New(clocktest.Epoch)
	s := memstore.New(fc)
	svc, err := s.Create(ctx, registry.NewService{Host: "h", Binary: "nova-compute"})
	if err != nil {
		t.Fatal(err)
	}
	if !svc.CreatedAt.Equal(clocktest.Epoch) {
		t.Errorf("CreatedAt = %v, want the fake's %v", svc.CreatedAt, clocktest.Epoch)
	}
	fc.Advance(90 * time.Second)
	hb, err := s.Report(ctx, svc.ID)
	if err != nil || !hb.LastSeenUp.Equal(clocktest.Epoch.Add(90*time.Second)) {
		t.Errorf("Report = %+v, %v; want last_seen_up at the fake's time", hb, err)
	}
	fc.Advance(time.Hour)
	_, now, err := s.List(ctx, registry.Filter{})
	if err != nil || !now.Equal(clocktest.Epoch.Add(time.Hour+90*time.Second)) {
		t.Errorf("List's now = %v, %v", now, err)
	}
}

// Records handed out are copies: changing one must not change the store.
func TestReturnsCopies(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(nil)
	svc, _ := s.Create(ctx, registry.NewService{Host: "h", Binary: "b"})
	if _, err := s.Report(ctx, svc.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, svc.ID)
	got.Host = "changed"
	*got.LastSeenUp = time.Time{}
	again, _ := s.Get(ctx, svc.ID)
	if again.Host != "h" || again.LastSeenUp.IsZero() {
		t.Errorf("the store shares memory with a returned record: %+v", again)
	}
}
