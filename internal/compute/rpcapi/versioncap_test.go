package rpcapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

func TestParseVersionCap(t *testing.T) {
	for in, want := range map[string]VersionCap{
		"":         {},
		"auto":     {Auto: true},
		"6.0":      {Version: "6.0"},
		"6.1":      {Version: "6.1"},
		"5.13":     {Version: "5.13"},
		"zed":      {Version: "6.1", Alias: "zed"},
		"wallaby":  {Version: "6.0", Alias: "wallaby"},
		"yoga":     {Version: "6.0", Alias: "yoga"},
		"icehouse": {Version: "3.23", Alias: "icehouse"},
		"victoria": {Version: "5.12", Alias: "victoria"},
	} {
		got, err := ParseVersionCap(in)
		if err != nil || got != want {
			t.Errorf("ParseVersionCap(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"six", "6", "6.0.1", "Zed", "antelope", "auto6", "6.x"} {
		_, err := ParseVersionCap(bad)
		if err == nil || !strings.Contains(err.Error(), "icehouse ... zed") {
			t.Errorf("ParseVersionCap(%q) = %v, want a refusal that names the choices", bad, err)
		}
	}
	for in, usable := range map[string]bool{"": true, "auto": true, "6.0": true, "6.1": true, "7.0": true, "wallaby": true,
		"5.13": false, "victoria": false, "icehouse": false} {
		vc, _ := ParseVersionCap(in)
		if err := vc.Usable(); (err == nil) != usable {
			t.Errorf("%q: Usable = %v, want usable %v", in, err, usable)
		}
	}
	vc, _ := ParseVersionCap("victoria")
	if err := vc.Usable(); err == nil || !strings.Contains(err.Error(), "5.12 (victoria) is below 6.0") {
		t.Errorf("victoria: %v", err)
	}
	if _, err := New(nil, Options{VersionCap: Auto}); err == nil {
		t.Error("auto without MinimumComputeVersion accepted")
	}
}

// The service version history and the package agree on the newest version.
func TestVersionIsTheNewestServiceVersions(t *testing.T) {
	v, err := versions.ComputeRPC(versions.Current)
	if err != nil || v != Version {
		t.Fatalf("service version %d serves %q (%v); rpcapi.Version is %s", versions.Current, v, err, Version)
	}
	for m, mv := range methodVersions {
		if compareVersions(mv, Version) > 0 || compareVersions(mv, OldestVersion) < 0 {
			t.Errorf("%s is sent at %s, outside %s..%s", m, mv, OldestVersion, Version)
		}
	}
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// With auto, the cap follows the oldest nova-compute row: the newest while
// there is none (and asked again at each message), that compute's version
// once one exists (and kept), and a Reset reads the table again.
func TestAutoVersionCapFollowsTheOldestCompute(t *testing.T) {
	ctx := context.Background()
	store := memstore.New(nil)
	var asked int
	var mu sync.Mutex
	logs := &logBuffer{}
	e := newEnvAt(t, "6.0") // a compute of the first release
	cl := e.client(t, Options{
		VersionCap: Auto,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinimumComputeVersion: func(ctx context.Context) (int, error) {
			mu.Lock()
			asked++
			mu.Unlock()
			return store.MinimumVersion(ctx, registry.BinaryCompute)
		},
	})
	if err := cl.Reset(ctx); err != nil || cl.VersionCap() != Version {
		t.Fatalf("no compute yet: Reset = %v, cap %q; want the newest, %s", err, cl.VersionCap(), Version)
	}
	if !strings.Contains(logs.String(), "Not caching compute RPC version_cap, because min service_version is 0") {
		t.Errorf("logs lack nova's no-compute message:\n%s", logs)
	}

	// The old compute registers; the next message asks the table again.
	row, err := store.Create(ctx, registry.NewService{Host: "h1", Binary: registry.BinaryCompute, Topic: Topic, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	build := BuildAndRunInstanceArgs{Instance: Instance{UUID: instUUID}}
	if err := cl.BuildAndRunInstance(ctx, "h1", build); err != nil {
		t.Fatal(err)
	}
	// Served at 6.0 only, the recorder received it: it was sent at 6.0.
	if m := e.next(t); m.method != MethodBuildAndRunInstance {
		t.Fatalf("got %s", m.method)
	}
	if cl.VersionCap() != "6.0" {
		t.Fatalf("cap %q after a compute at 1 registered, want 6.0", cl.VersionCap())
	}
	want := "Automatically selected compute RPC version 6.0 from minimum service version 1"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs)
	}
	mu.Lock()
	before := asked
	mu.Unlock()
	if err := cl.TerminateInstance(ctx, "h1", instUUID); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	mu.Lock()
	if asked != before {
		t.Errorf("the cap was read again (%d -> %d): once chosen from a compute's row it is kept until Reset", before, asked)
	}
	mu.Unlock()

	// power_on = false cannot be said at 6.0: refused before sending.
	off := false
	build.PowerOn = &off
	if err := cl.BuildAndRunInstance(ctx, "h1", build); !errors.Is(err, rpcsvc.ErrVersionCap) || !strings.Contains(err.Error(), "power_on") {
		t.Fatalf("power_on=false under 6.0 = %v, want ErrVersionCap naming power_on", err)
	}
	on := true
	build.PowerOn = &on
	if err := cl.BuildAndRunInstance(ctx, "h1", build); err != nil {
		t.Fatal(err)
	}
	if m := e.next(t); m.args["power_on"] != nil {
		t.Fatalf("power_on=true under 6.0 was sent: %v (a 6.0 compute has no such argument)", m.args)
	}

	// The compute is upgraded; a Reset reads the table again.
	two := 2
	if _, err := store.Update(ctx, row.ID, registry.Update{Version: &two}); err != nil {
		t.Fatal(err)
	}
	if cl.VersionCap() != "6.0" {
		t.Fatal("the cap moved without a Reset")
	}
	if err := cl.Reset(ctx); err != nil || cl.VersionCap() != "6.1" {
		t.Fatalf("Reset after the upgrade = %v, cap %q; want 6.1", err, cl.VersionCap())
	}
	if !strings.Contains(logs.String(), "Automatically selected compute RPC version 6.1 from minimum service version 2") {
		t.Errorf("logs lack the 6.1 choice:\n%s", logs)
	}
	// Now sent at 6.1: the 6.0-only recorder refuses it (nothing recorded).
	build.PowerOn = nil
	if err := cl.BuildAndRunInstance(ctx, "h1", build); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-e.rec.got:
		t.Fatalf("a 6.0 compute handled a message sent under cap 6.1: %s %v", m.method, m.args)
	case <-time.After(200 * time.Millisecond):
	}

	// A compute newer than this binary: nova's ServiceTooOld; the cap stays.
	three := versions.Current + 1
	if _, err := store.Update(ctx, row.ID, registry.Update{Version: &three}); err != nil {
		t.Fatal(err)
	}
	err = cl.Reset(ctx)
	var tooOld *versions.ServiceTooOldError
	if !errors.As(err, &tooOld) || cl.VersionCap() != "6.1" {
		t.Fatalf("Reset with a compute at %d = %v, cap %q; want ServiceTooOld and the cap kept", three, err, cl.VersionCap())
	}
	if !strings.Contains(logs.String(), "Failed to extract compute RPC version from service history because I am too old") {
		t.Errorf("logs lack nova's too-old message:\n%s", logs)
	}
}

// A fixed cap: a version or a release name; Reset changes nothing.
func TestFixedVersionCap(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for in, want := range map[string]string{"": "", "6.0": "6.0", "yoga": "6.0", "zed": "6.1"} {
		cl := e.client(t, Options{VersionCap: in})
		if err := cl.Reset(ctx); err != nil || cl.VersionCap() != want {
			t.Errorf("%q: Reset = %v, cap %q; want %q", in, err, cl.VersionCap(), want)
		}
	}
	// Uncapped, power_on reaches the compute.
	off := false
	cl := e.client(t, Options{})
	if err := cl.BuildAndRunInstance(ctx, "h1", BuildAndRunInstanceArgs{Instance: Instance{UUID: instUUID}, PowerOn: &off}); err != nil {
		t.Fatal(err)
	}
	if m := e.next(t); m.args["power_on"] != false {
		t.Fatalf("power_on on the wire: %v", m.args)
	}
	if MethodVersion(MethodBuildAndRunInstance) != "6.1" {
		t.Fatal("build_and_run_instance is not sent at 6.1")
	}
}
