package computedb

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/tcpproxy"
)

// TestPGOutageIsUnavailable: every method of the Postgres store, on a
// database that refuses connections or whose connections were cut, fails
// with db.ErrUnavailable (the API's 503), never with an unmarked error.
func TestPGOutageIsUnavailable(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		// Nothing listens on port 1.
		cfg, err := pgxpool.ParseConfig("postgresql://nova@127.0.0.1:1/nova?connect_timeout=2")
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		checkAllUnavailable(t, NewPG(pool), "5f0c4bde-22f1-4d0b-8b8e-0c1f3f3f3f3f", 1)
	})
	t.Run("cut", func(t *testing.T) {
		dbURL := pgtest.NewDatabase(t)
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := tcpproxy.Start(t, u.Host)
		u.Host = proxy.Addr()
		s := NewPG(pgtest.OpenPool(t, u.String()))
		ctx := context.Background()
		in, err := s.CreateInstance(ctx, Instance{DisplayName: "vm", Host: "h"})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.UpsertNode(ctx, Node{Host: "h", HypervisorHostname: "h"})
		if err != nil {
			t.Fatal(err)
		}
		proxy.SetRefuse(true)
		proxy.CutAll()
		checkAllUnavailable(t, s, in.UUID, n.ID)
	})
}

func checkAllUnavailable(t *testing.T, s Store, id string, nodeID int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := states.VMActive
	calls := map[string]func() error{
		"UpsertNode": func() error { _, err := s.UpsertNode(ctx, Node{Host: "h", HypervisorHostname: "h"}); return err },
		"ListNodes":  func() error { _, err := s.ListNodes(ctx); return err },
		"GetNode":    func() error { _, err := s.GetNode(ctx, nodeID); return err },
		"CreateInstance": func() error {
			_, err := s.CreateInstance(ctx, Instance{DisplayName: "vm"})
			return err
		},
		"GetInstance":    func() error { _, err := s.GetInstance(ctx, id); return err },
		"ListInstances":  func() error { _, err := s.ListInstances(ctx, InstanceFilter{}); return err },
		"ListByMarker":   func() error { _, err := s.ListInstances(ctx, InstanceFilter{Marker: id}); return err },
		"UpdateInstance": func() error { _, err := s.UpdateInstance(ctx, id, InstanceUpdate{VMState: &st}); return err },
		"UpdateExpecting": func() error {
			none := states.TaskNone
			_, err := s.UpdateInstance(ctx, id, InstanceUpdate{VMState: &st, ExpectTaskState: &none})
			return err
		},
		"DeleteInstance":       func() error { return s.DeleteInstance(ctx, id) },
		"CountInstancesByHost": func() error { _, err := s.CountInstancesByHost(ctx, "h"); return err },
		"DeleteNodesByHost":    func() error { _, err := s.DeleteNodesByHost(ctx, "h"); return err },
		"ClaimInstance": func() error {
			_, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: id, NodeID: nodeID})
			return err
		},
		"ReleaseClaim": func() error { _, err := s.ReleaseClaim(ctx, id); return err },
		"ReportNode": func() error {
			_, err := s.ReportNode(ctx, Node{Host: "h", HypervisorHostname: "h"}, AllocationRatios{})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, db.ErrUnavailable) {
			t.Errorf("%s on a database that is down: err = %v, want db.ErrUnavailable", name, err)
		}
	}
}

// TestFailMapsDatabaseRefusals: a value Postgres refuses (SQLSTATE class
// 22) that slipped past the checks is ErrInvalid; the store's own
// sentinels pass unchanged; anything else keeps its cause.
func TestFailMapsDatabaseRefusals(t *testing.T) {
	for _, code := range []string{"22021", "22P05", "22001", "22003"} {
		if err := fail("x", &pgconn.PgError{Code: code}); !errors.Is(err, ErrInvalid) {
			t.Errorf("SQLSTATE %s: %v, want ErrInvalid", code, err)
		}
	}
	for _, err := range []error{ErrNotFound, ErrConflict, ErrInvalid, nil} {
		if got := fail("x", err); got != err {
			t.Errorf("fail(%v) = %v, want it unchanged", err, got)
		}
	}
	other := &pgconn.PgError{Code: "42P01"}
	if got := fail("x", other); !errors.Is(got, other) || errors.Is(got, ErrInvalid) || errors.Is(got, db.ErrUnavailable) {
		t.Errorf("fail(undefined table) = %v", got)
	}
}
