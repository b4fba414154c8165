package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/manager"
	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// realComputeEnv is the router over Postgres whose compute.API reaches a
// real compute manager (fake driver) over RabbitMQ, in a vhost of the
// test's own: every action goes the whole way nova's goes.
func realComputeEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: testenv.OsloURL(testenv.RabbitVhost(t)),
		ControlExchange: testenv.UniqueName("api_actions_"), ResponseTimeout: 10 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := rpcapi.New(tr, rpcapi.Options{CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, pgBackend, func(d *Deps, o *computeapi.Options) {
		d.MaxMicroversion = microversion.MustParse("2.93")
		o.RPC = computeapi.NewComputeRPC(cl)
		o.RPCTimeout = 10 * time.Second
	})
	svc := e.addService("c1", registry.BinaryCompute)
	m, err := manager.New(manager.Options{Host: "c1", Driver: fake.New(fake.Options{Logger: quiet}), Store: e.compute,
		Logger: quiet, ResourceSpacing: -1, SyncPowerStateSpacing: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitHost(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.PreStartHook(ctx, svc); err != nil {
		t.Fatal(err)
	}
	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{Target: rpcsvc.Target{Topic: rpcapi.Topic, Server: "c1"}, Endpoints: m.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			t.Error(err)
		}
		if err := m.Shutdown(sctx); err != nil {
			t.Error(err)
		}
		if err := tr.Close(sctx); err != nil {
			t.Error(err)
		}
	})
	return e
}

// gophercloud (a real client) drives stop, start, pause, unpause, suspend,
// resume, lock, unlock and rebuild through nova-api, RabbitMQ and a real
// compute manager on Postgres; each reaches the compute, whose state
// transitions show in GET, and os-instance-actions lists every action
// with the compute's event finished Success.
func TestGophercloudServerActionsOnRabbitMQ(t *testing.T) {
	e := realComputeEnv(t)
	ctx := context.Background()
	hs := httptest.NewServer(e.handler)
	defer hs.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Transport: tr}}
	provider.SetToken(alice)
	client := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: hs.URL + "/v2.1/", Type: "compute", Microversion: "2.73"}

	created, err := servers.Create(ctx, client, servers.CreateOpts{Name: "vm", FlavorRef: "1", ImageRef: imageID, Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	wait := func(status, power string) *servers.Server {
		t.Helper()
		var s *servers.Server
		deadline := time.Now().Add(20 * time.Second)
		for {
			s, err = servers.Get(ctx, client, id).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if s.Status == status && s.TaskState == "" && s.PowerState.String() == power {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %s: status %s task %q power %s; want %s/%s", id, s.Status, s.TaskState, s.PowerState, status, power)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("ACTIVE", "RUNNING")
	for _, s := range []struct {
		name   string
		do     func() error
		status string
		power  string
	}{
		{"stop", func() error { return servers.Stop(ctx, client, id).ExtractErr() }, "SHUTOFF", "SHUTDOWN"},
		{"start", func() error { return servers.Start(ctx, client, id).ExtractErr() }, "ACTIVE", "RUNNING"},
		{"pause", func() error { return servers.Pause(ctx, client, id).ExtractErr() }, "PAUSED", "PAUSED"},
		{"unpause", func() error { return servers.Unpause(ctx, client, id).ExtractErr() }, "ACTIVE", "RUNNING"},
		{"suspend", func() error { return servers.Suspend(ctx, client, id).ExtractErr() }, "SUSPENDED", "SUSPENDED"},
		{"resume", func() error { return servers.Resume(ctx, client, id).ExtractErr() }, "ACTIVE", "RUNNING"},
	} {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		wait(s.status, s.power)
	}
	// A wrong state is gophercloud's typed 409.
	if err := servers.Start(ctx, client, id).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("start of an active server: %v", err)
	}
	// Lock: the owner's stop is refused, the server shows it locked.
	if err := servers.Lock(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if s := wait("ACTIVE", "RUNNING"); s.Locked == nil || !*s.Locked {
		t.Fatalf("locked %v", s.Locked)
	}
	if err := servers.Stop(ctx, client, id).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("stop of a locked server: %v", err)
	}
	if err := servers.Unlock(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	// Rebuild from another image.
	const image2 = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
	rebuilt, err := servers.Rebuild(ctx, client, id, servers.RebuildOpts{ImageRef: image2, Name: "vm2", AdminPass: "pw"}).Extract()
	if err != nil || rebuilt.AdminPass != "pw" || rebuilt.Name != "vm2" {
		t.Fatalf("rebuild %+v %v", rebuilt, err)
	}
	if s := wait("ACTIVE", "RUNNING"); s.Image["id"] != image2 {
		t.Fatalf("rebuilt image %v", s.Image)
	}

	// os-instance-actions: every action, the compute's events finished.
	client.Microversion = "2.84"
	pages, err := instanceactions.List(client, id, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range acts {
		names = append(names, a.Action)
	}
	if got := strings.Join(names, ","); got != "rebuild,unlock,lock,resume,suspend,unpause,pause,start,stop,create" {
		t.Fatalf("actions %s", got)
	}
	for _, a := range acts {
		var want string
		switch a.Action {
		case "lock", "unlock":
			want = "api_" + a.Action
		case "create":
			want = "compute__do_build_and_run_instance"
		default:
			want = "compute_" + a.Action + "_instance"
		}
		// The compute finishes its event just after the state it writes.
		var got instanceactions.InstanceActionDetail
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got, err = instanceactions.Get(ctx, client, id, a.RequestID).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if got.Events == nil || len(*got.Events) == 0 || (*got.Events)[0].Result != "" || time.Now().After(deadline) {
				break
			}
		}
		if got.Events == nil || len(*got.Events) != 1 {
			t.Errorf("%s events %+v", a.Action, got.Events)
			continue
		}
		if ev := (*got.Events)[0]; ev.Event != want || ev.Result != "Success" || ev.HostID == nil {
			t.Errorf("%s event %+v", a.Action, ev)
		}
	}
}
