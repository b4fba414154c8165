// Package registrytest is the contract every registry.Store must meet, as one
// test suite that runs against each implementation.
//
// # Why
//
// gonova has two stores (pgstore for Postgres, memstore for the all-in-one
// default); a behaviour that differs between them would make `make run` lie
// about production. RunContract pins down everything callers rely on: unique
// keys and the errors they give, soft delete, FindOrCreate under concurrency,
// the enable_new_services rule, and that the store's clock stamps heartbeats.
//
// # Logging
//
// The package does not log.
//
// # Metrics
//
// The package exports no metrics.
package registrytest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/registry"
)

// RunContract runs the contract suite. newStore returns an empty store for one
// subtest; it registers its own cleanup.
func RunContract(t *testing.T, newStore func(t *testing.T) registry.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s registry.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"CreateGivenUUID", testCreateGivenUUID},
		{"Duplicates", testDuplicates},
		{"InvalidInput", testInvalidInput},
		{"WhatPostgresRefuses", testWhatPostgresRefuses},
		{"NotFound", testNotFound},
		{"List", testList},
		{"Update", testUpdate},
		{"SoftDelete", testSoftDelete},
		{"Report", testReport},
		{"FindOrCreate", testFindOrCreate},
		{"DisableNewServices", testDisableNewServices},
		{"ConcurrentFindOrCreate", testConcurrentFindOrCreate},
		{"CancelledContext", testCancelledContext},
		{"MinimumVersion", testMinimumVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(t *testing.T, s registry.Store, n registry.NewService) registry.Service {
	t.Helper()
	svc, err := s.Create(ctxT(t), n)
	if err != nil {
		t.Fatalf("Create(%+v): %v", n, err)
	}
	return svc
}

func mustNow(t *testing.T, s registry.Store) time.Time {
	t.Helper()
	now, err := s.Now(ctxT(t))
	if err != nil {
		t.Fatalf("Now: %v", err)
	}
	if now.Location() != time.UTC {
		t.Fatalf("Now() = %v is not in UTC", now)
	}
	return now
}

func within(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.Before(lo) || got.After(hi) {
		t.Errorf("%s = %v, want within [%v, %v] on the store's clock", what, got, lo, hi)
	}
}

func testCreateAndGet(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	before := mustNow(t, s)
	svc := mustCreate(t, s, registry.NewService{Host: "h1", Binary: "nova-compute", Topic: "compute", Version: 66})
	after := mustNow(t, s)
	if svc.ID <= 0 {
		t.Errorf("ID = %d, want positive", svc.ID)
	}
	if _, err := uuid.Parse(svc.UUID); err != nil || strings.ToLower(svc.UUID) != svc.UUID {
		t.Errorf("UUID = %q, want a canonical lower-case uuid", svc.UUID)
	}
	if svc.Host != "h1" || svc.Binary != "nova-compute" || svc.Topic != "compute" || svc.Version != 66 {
		t.Errorf("created %+v, fields differ from the input", svc)
	}
	if svc.ReportCount != 0 || svc.Disabled || svc.DisabledReason != "" || svc.ForcedDown ||
		svc.LastSeenUp != nil || svc.UpdatedAt != nil || svc.DeletedAt != nil || svc.Deleted != 0 {
		t.Errorf("created %+v, want defaults (no reports, enabled, live, never updated)", svc)
	}
	within(t, "CreatedAt", svc.CreatedAt, before, after)
	if svc.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v is not UTC", svc.CreatedAt)
	}

	byID, err := s.Get(ctx, svc.ID)
	if err != nil || !equal(byID, svc) {
		t.Errorf("Get(%d) = %+v, %v; want %+v", svc.ID, byID, err, svc)
	}
	byUUID, err := s.GetByUUID(ctx, strings.ToUpper(svc.UUID))
	if err != nil || !equal(byUUID, svc) {
		t.Errorf("GetByUUID(upper case) = %+v, %v; want %+v", byUUID, err, svc)
	}
	byHB, err := s.GetByHostBinary(ctx, "h1", "nova-compute")
	if err != nil || !equal(byHB, svc) {
		t.Errorf("GetByHostBinary = %+v, %v; want %+v", byHB, err, svc)
	}

	api := mustCreate(t, s, registry.NewService{Host: "h1", Binary: registry.BinaryAPI})
	if api.Topic != "" || api.ID == svc.ID {
		t.Errorf("API service %+v: want no topic and its own id", api)
	}
}

func testCreateGivenUUID(t *testing.T, s registry.Store) {
	want := uuid.NewString()
	svc := mustCreate(t, s, registry.NewService{UUID: strings.ToUpper(want), Host: "h", Binary: "nova-compute"})
	if svc.UUID != want {
		t.Errorf("UUID = %q, want the given one in canonical form %q", svc.UUID, want)
	}
}

func testDuplicates(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	first := mustCreate(t, s, registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute"})
	cases := []struct {
		name string
		n    registry.NewService
		key  string
	}{
		{"host+binary", registry.NewService{Host: "h", Binary: "nova-compute", Topic: "other"}, "host+binary"},
		{"host+topic", registry.NewService{Host: "h", Binary: "nova-other", Topic: "compute"}, "host+topic"},
		{"uuid", registry.NewService{UUID: first.UUID, Host: "h2", Binary: "nova-x"}, "uuid"},
	}
	for _, c := range cases {
		_, err := s.Create(ctx, c.n)
		var dup *registry.DuplicateError
		if !errors.Is(err, registry.ErrDuplicate) || !errors.As(err, &dup) || dup.Key != c.key {
			t.Errorf("%s: Create = %v, want a DuplicateError on %s", c.name, err, c.key)
		}
	}
	// Same binary on another host, and two topic-less services on one host,
	// are fine (NULL topics never collide).
	mustCreate(t, s, registry.NewService{Host: "h2", Binary: "nova-compute", Topic: "compute"})
	mustCreate(t, s, registry.NewService{Host: "h", Binary: registry.BinaryAPI})
	mustCreate(t, s, registry.NewService{Host: "h", Binary: "nova-metadata"})
	list, _, err := s.List(ctx, registry.Filter{})
	if err != nil || len(list) != 4 {
		t.Errorf("List after duplicates = %d rows, %v; want 4 (failed creates leave nothing)", len(list), err)
	}
}

func testInvalidInput(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	long := strings.Repeat("x", registry.MaxFieldLength+1)
	cases := []struct {
		n     registry.NewService
		names string
	}{
		{registry.NewService{Binary: "nova-compute"}, "host"},
		{registry.NewService{Host: "h"}, "binary"},
		{registry.NewService{Host: "h", Binary: "b", Topic: long}, "topic"},
		{registry.NewService{Host: "h", Binary: "b", UUID: "not-a-uuid"}, "uuid"},
		{registry.NewService{Host: "h", Binary: "b", Version: -1}, "version"},
	}
	for _, c := range cases {
		_, err := s.Create(ctx, c.n)
		if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), c.names) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid naming %q", c.n, err, c.names)
		}
	}
	svc := mustCreate(t, s, registry.NewService{Host: "h", Binary: "b"})
	if _, err := s.Update(ctx, svc.ID, registry.Update{}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("empty Update = %v, want ErrInvalid", err)
	}
	if _, err := s.Update(ctx, svc.ID, registry.Update{DisabledReason: &long}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("Update with a too long reason = %v, want ErrInvalid", err)
	}
	if _, err := s.GetByUUID(ctx, "42"); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("GetByUUID(\"42\") = %v, want ErrInvalid", err)
	}
}

// Both stores refuse exactly what a varchar(255) column refuses (invalid
// UTF-8, NUL, more than 255 characters) and accept what it accepts (255
// two-byte characters), and ids beyond the integer column are simply not
// found.
func testWhatPostgresRefuses(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	bad := []struct{ what, v string }{
		{"invalid UTF-8", "host\xff"},
		{"a NUL", "ho\x00st"},
		{"256 characters", strings.Repeat("h", 256)},
		{"256 two-byte characters", strings.Repeat("é", 256)},
	}
	for _, b := range bad {
		if _, err := s.Create(ctx, registry.NewService{Host: b.v, Binary: "nova-compute", Topic: "compute"}); !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), "host") {
			t.Errorf("Create with a host of %s = %v, want ErrInvalid naming host", b.what, err)
		}
		if _, _, err := s.List(ctx, registry.Filter{Host: b.v}); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("List with a host filter of %s = %v, want ErrInvalid", b.what, err)
		}
		if _, err := s.GetByHostBinary(ctx, b.v, "nova-compute"); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("GetByHostBinary with a host of %s = %v, want ErrInvalid", b.what, err)
		}
	}
	long := strings.Repeat("é", registry.MaxFieldLength)
	svc := mustCreate(t, s, registry.NewService{Host: long, Binary: "nova-compute", Topic: "compute"})
	if svc.Host != long {
		t.Errorf("a host of 255 two-byte characters came back as %d bytes", len(svc.Host))
	}
	reason := "ok\xff"
	if _, err := s.Update(ctx, svc.ID, registry.Update{DisabledReason: &reason}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("Update with a reason that is not UTF-8 = %v, want ErrInvalid", err)
	}
	const beyond = int64(registry.MaxID) + 1
	if _, err := s.Get(ctx, beyond); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Get(%d) = %v, want ErrNotFound", beyond, err)
	}
	if err := s.Delete(ctx, beyond); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Delete(%d) = %v, want ErrNotFound", beyond, err)
	}
	disabled := true
	if _, err := s.Update(ctx, beyond, registry.Update{Disabled: &disabled}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Update(%d) = %v, want ErrNotFound", beyond, err)
	}
	if _, err := s.Report(ctx, -1); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Report(-1) = %v, want ErrNotFound", err)
	}
}

func testNotFound(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	if _, err := s.Get(ctx, 424242); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetByUUID(ctx, uuid.NewString()); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetByUUID(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetByHostBinary(ctx, "nohost", "nova-compute"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetByHostBinary(missing) = %v, want ErrNotFound", err)
	}
	f := false
	if _, err := s.Update(ctx, 424242, registry.Update{Disabled: &f}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Update(missing) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, 424242); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.Report(ctx, 424242); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Report(missing) = %v, want ErrNotFound", err)
	}
}

func testList(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	a := mustCreate(t, s, registry.NewService{Host: "a", Binary: "nova-compute", Topic: "compute"})
	b := mustCreate(t, s, registry.NewService{Host: "b", Binary: "nova-compute", Topic: "compute"})
	c := mustCreate(t, s, registry.NewService{Host: "a", Binary: registry.BinaryAPI})
	d := mustCreate(t, s, registry.NewService{Host: "b", Binary: "nova-scheduler", Topic: "scheduler"})
	if err := s.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	ids := func(f registry.Filter) []int64 {
		t.Helper()
		before := mustNow(t, s)
		list, now, err := s.List(ctx, f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		within(t, "List's clock", now, before, mustNow(t, s))
		out := []int64{}
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	cases := []struct {
		f    registry.Filter
		want []int64
	}{
		{registry.Filter{}, []int64{a.ID, b.ID, c.ID}},
		{registry.Filter{Host: "a"}, []int64{a.ID, c.ID}},
		{registry.Filter{Binary: "nova-compute"}, []int64{a.ID, b.ID}},
		{registry.Filter{Host: "b", Binary: "nova-compute"}, []int64{b.ID}},
		{registry.Filter{Host: "nope"}, []int64{}},
		{registry.Filter{IncludeDeleted: true}, []int64{a.ID, b.ID, c.ID, d.ID}},
		{registry.Filter{Host: "b", IncludeDeleted: true}, []int64{b.ID, d.ID}},
	}
	for _, tc := range cases {
		if got := ids(tc.f); !equalIDs(got, tc.want) {
			t.Errorf("List(%+v) ids = %v, want %v in id order", tc.f, got, tc.want)
		}
	}
	list, _, err := s.List(ctx, registry.Filter{Host: "a", Binary: "nova-compute"})
	if err != nil || len(list) != 1 || !equal(list[0], a) {
		t.Errorf("List returned %+v, %v; want the full record %+v", list, err, a)
	}
}

func testUpdate(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	svc := mustCreate(t, s, registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute", Version: 1})
	yes, reason, v := true, "maintenance", 70
	before := mustNow(t, s)
	got, err := s.Update(ctx, svc.ID, registry.Update{Disabled: &yes, DisabledReason: &reason})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled || got.DisabledReason != reason || got.ForcedDown || got.Version != 1 {
		t.Errorf("after disable: %+v", got)
	}
	if got.UpdatedAt == nil {
		t.Fatal("UpdatedAt not set by Update")
	}
	within(t, "UpdatedAt", *got.UpdatedAt, before, mustNow(t, s))
	got, err = s.Update(ctx, svc.ID, registry.Update{ForcedDown: &yes, Version: &v})
	if err != nil || !got.ForcedDown || got.Version != 70 || !got.Disabled || got.DisabledReason != reason {
		t.Errorf("after force-down: %+v, %v; other fields must stay", got, err)
	}
	no, empty := false, ""
	got, err = s.Update(ctx, svc.ID, registry.Update{Disabled: &no, DisabledReason: &empty, ForcedDown: &no})
	if err != nil || got.Disabled || got.DisabledReason != "" || got.ForcedDown {
		t.Errorf("after enable: %+v, %v; want enabled with no reason", got, err)
	}
	read, err := s.Get(ctx, svc.ID)
	if err != nil || !equal(read, got) {
		t.Errorf("Get after Update = %+v, %v; want %+v", read, err, got)
	}
}

func testSoftDelete(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	svc := mustCreate(t, s, registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute"})
	before := mustNow(t, s)
	if err := s.Delete(ctx, svc.ID); err != nil {
		t.Fatal(err)
	}
	gone, err := s.Get(ctx, svc.ID)
	if err != nil {
		t.Fatalf("Get(deleted) = %v, want the soft-deleted row", err)
	}
	if gone.Deleted != svc.ID || !gone.IsDeleted() || gone.DeletedAt == nil {
		t.Fatalf("deleted row %+v: want deleted = id and deleted_at set", gone)
	}
	within(t, "DeletedAt", *gone.DeletedAt, before, mustNow(t, s))
	if byUUID, err := s.GetByUUID(ctx, svc.UUID); err != nil || byUUID.Deleted != svc.ID {
		t.Errorf("GetByUUID(deleted) = %+v, %v; want the soft-deleted row", byUUID, err)
	}
	if _, err := s.GetByHostBinary(ctx, "h", "nova-compute"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetByHostBinary after delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, svc.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Report(ctx, svc.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Report(deleted) = %v, want ErrNotFound", err)
	}
	yes := true
	if _, err := s.Update(ctx, svc.ID, registry.Update{Disabled: &yes}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Update(deleted) = %v, want ErrNotFound", err)
	}
	again := mustCreate(t, s, registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute"})
	if again.ID == svc.ID || again.UUID == svc.UUID {
		t.Errorf("re-created row %+v reuses the deleted row's id or uuid", again)
	}
	// Deleting the second one too must not collide with the first (deleted = id differs).
	if err := s.Delete(ctx, again.ID); err != nil {
		t.Errorf("deleting a second row of the same host+binary: %v", err)
	}
}

func testReport(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	svc := mustCreate(t, s, registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute"})
	var last time.Time
	for i := int64(1); i <= 3; i++ {
		before := mustNow(t, s)
		hb, err := s.Report(ctx, svc.ID)
		if err != nil {
			t.Fatalf("Report #%d: %v", i, err)
		}
		if hb.ReportCount != i {
			t.Errorf("Report #%d: count %d", i, hb.ReportCount)
		}
		within(t, "LastSeenUp", hb.LastSeenUp, before, mustNow(t, s))
		if hb.LastSeenUp.Before(last) {
			t.Errorf("LastSeenUp went backwards: %v after %v", hb.LastSeenUp, last)
		}
		last = hb.LastSeenUp
	}
	got, err := s.Get(ctx, svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ReportCount != 3 || got.LastSeenUp == nil || !got.LastSeenUp.Equal(last) ||
		got.UpdatedAt == nil || !got.UpdatedAt.Equal(last) {
		t.Errorf("row after 3 reports: %+v; want count 3, last_seen_up = updated_at = %v", got, last)
	}
}

func testFindOrCreate(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	n := registry.NewService{Host: "h", Binary: "nova-compute", Topic: "compute", Version: 3}
	first, created, err := registry.FindOrCreate(ctx, s, n, registry.CreateOptions{})
	if err != nil || !created {
		t.Fatalf("first FindOrCreate = %+v, created=%v, %v; want a new row", first, created, err)
	}
	second, created, err := registry.FindOrCreate(ctx, s, n, registry.CreateOptions{})
	if err != nil || created || !equal(first, second) {
		t.Fatalf("second FindOrCreate = %+v, created=%v, %v; want the first row", second, created, err)
	}
	// Another binary holding the same topic on the host is a real conflict.
	_, _, err = registry.FindOrCreate(ctx, s, registry.NewService{Host: "h", Binary: "nova-other", Topic: "compute"}, registry.CreateOptions{})
	if !errors.Is(err, registry.ErrDuplicate) {
		t.Errorf("FindOrCreate on a taken topic = %v, want ErrDuplicate", err)
	}
	if _, _, err := registry.FindOrCreate(ctx, s, registry.NewService{Binary: "x"}, registry.CreateOptions{}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("FindOrCreate without host = %v, want ErrInvalid", err)
	}
}

func testDisableNewServices(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	off := registry.CreateOptions{DisableNewServices: true}
	comp, _, err := registry.FindOrCreate(ctx, s, registry.NewService{Host: "h", Binary: registry.BinaryCompute, Topic: "compute"}, off)
	if err != nil {
		t.Fatal(err)
	}
	if !comp.Disabled || comp.DisabledReason != registry.NewServiceDisabledReason {
		t.Errorf("new nova-compute with enable_new_services=false: %+v; want disabled with %q", comp, registry.NewServiceDisabledReason)
	}
	sched, _, err := registry.FindOrCreate(ctx, s, registry.NewService{Host: "h", Binary: "nova-scheduler", Topic: "scheduler"}, off)
	if err != nil || sched.Disabled || sched.DisabledReason != "" {
		t.Errorf("nova-scheduler with enable_new_services=false: %+v, %v; only nova-compute is disabled", sched, err)
	}
	on, _, err := registry.FindOrCreate(ctx, s, registry.NewService{Host: "h2", Binary: registry.BinaryCompute, Topic: "compute"}, registry.CreateOptions{})
	if err != nil || on.Disabled {
		t.Errorf("nova-compute with enable_new_services=true: %+v, %v; want enabled", on, err)
	}
	// An existing enabled row is found as it is, not disabled afterwards.
	found, created, err := registry.FindOrCreate(ctx, s, registry.NewService{Host: "h2", Binary: registry.BinaryCompute, Topic: "compute"}, off)
	if err != nil || created || found.Disabled {
		t.Errorf("existing row under enable_new_services=false: %+v, created=%v, %v; want it untouched", found, created, err)
	}
}

func testConcurrentFindOrCreate(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	const workers = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[int64]int{}
		created int
		errs    []error
	)
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			svc, c, err := registry.FindOrCreate(ctx, s, registry.NewService{Host: "race", Binary: "nova-compute", Topic: "compute"}, registry.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[svc.ID]++
			if c {
				created++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 || len(ids) != 1 || created != 1 {
		t.Fatalf("%d concurrent FindOrCreate: errors %v, ids %v, created %d; want one row created once", workers, errs, ids, created)
	}
	list, _, err := s.List(ctx, registry.Filter{Host: "race", IncludeDeleted: true})
	if err != nil || len(list) != 1 {
		t.Fatalf("rows after the race: %d, %v; want exactly 1", len(list), err)
	}
}

func testCancelledContext(t *testing.T, s registry.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Create(ctx, registry.NewService{Host: "h", Binary: "b"}); err == nil {
		t.Error("Create with a cancelled context succeeded")
	}
	if _, _, err := s.List(ctx, registry.Filter{}); err == nil {
		t.Error("List with a cancelled context succeeded")
	}
	if _, err := s.Report(ctx, 1); err == nil || errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Report with a cancelled context = %v, want the context's error", err)
	}
	if _, err := s.MinimumVersion(ctx, "nova-compute"); err == nil {
		t.Error("MinimumVersion with a cancelled context succeeded")
	}
}

// testMinimumVersion: nova's service_get_minimum_version counts the live rows
// of one binary that are not forced down; none gives 0.
func testMinimumVersion(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	minOf := func(binary string) int {
		t.Helper()
		v, err := s.MinimumVersion(ctx, binary)
		if err != nil {
			t.Fatalf("MinimumVersion(%q): %v", binary, err)
		}
		return v
	}
	if v := minOf("nova-compute"); v != 0 {
		t.Fatalf("MinimumVersion of an empty table = %d, want 0", v)
	}
	if _, err := s.MinimumVersion(ctx, ""); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("MinimumVersion(\"\") = %v, want ErrInvalid", err)
	}
	c1 := mustCreate(t, s, registry.NewService{Host: "h1", Binary: "nova-compute", Topic: "compute", Version: 3})
	mustCreate(t, s, registry.NewService{Host: "h2", Binary: "nova-compute", Topic: "compute", Version: 5})
	mustCreate(t, s, registry.NewService{Host: "h1", Binary: "nova-osapi_compute", Version: 1})
	if v := minOf("nova-compute"); v != 3 {
		t.Errorf("MinimumVersion(nova-compute) = %d, want 3 (another binary's 1 does not count)", v)
	}
	if v := minOf("nova-osapi_compute"); v != 1 {
		t.Errorf("MinimumVersion(nova-osapi_compute) = %d, want 1", v)
	}
	if v := minOf("nova-scheduler"); v != 0 {
		t.Errorf("MinimumVersion of a binary without rows = %d, want 0", v)
	}
	// Upgrading the oldest row moves the minimum.
	four := 4
	if _, err := s.Update(ctx, c1.ID, registry.Update{Version: &four}); err != nil {
		t.Fatal(err)
	}
	if v := minOf("nova-compute"); v != 4 {
		t.Errorf("after h1 went to 4: MinimumVersion = %d, want 4", v)
	}
	// A forced-down row and a soft-deleted row are not counted.
	old := mustCreate(t, s, registry.NewService{Host: "h3", Binary: "nova-compute", Topic: "compute", Version: 2})
	if v := minOf("nova-compute"); v != 2 {
		t.Errorf("with h3 at 2: MinimumVersion = %d, want 2", v)
	}
	down := true
	if _, err := s.Update(ctx, old.ID, registry.Update{ForcedDown: &down}); err != nil {
		t.Fatal(err)
	}
	if v := minOf("nova-compute"); v != 4 {
		t.Errorf("with h3 forced down: MinimumVersion = %d, want 4", v)
	}
	gone := mustCreate(t, s, registry.NewService{Host: "h4", Binary: "nova-compute", Topic: "compute", Version: 1})
	if err := s.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if v := minOf("nova-compute"); v != 4 {
		t.Errorf("with h4 deleted: MinimumVersion = %d, want 4", v)
	}
}

// equal compares two records field by field, times by instant.
func equal(a, b registry.Service) bool {
	eqPtr := func(x, y *time.Time) bool {
		if x == nil || y == nil {
			return x == nil && y == nil
		}
		return x.Equal(*y)
	}
	return a.ID == b.ID && a.UUID == b.UUID && a.Host == b.Host && a.Binary == b.Binary &&
		a.Topic == b.Topic && a.ReportCount == b.ReportCount && a.Disabled == b.Disabled &&
		a.DisabledReason == b.DisabledReason && eqPtr(a.LastSeenUp, b.LastSeenUp) &&
		a.ForcedDown == b.ForcedDown && a.Version == b.Version && a.CreatedAt.Equal(b.CreatedAt) &&
		eqPtr(a.UpdatedAt, b.UpdatedAt) && eqPtr(a.DeletedAt, b.DeletedAt) && a.Deleted == b.Deleted
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
