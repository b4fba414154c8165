package api

import (
	"context"
	"fmt"
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
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// resizeComputeEnv is realComputeEnv with the computes hosts (fake drivers
// of 8 vcpus, 16 GB, 200 GB), each able to cast a resize's hops to the
// others, and allow_resize_to_same_host as sameHost.
func resizeComputeEnv(t *testing.T, sameHost bool, hosts ...string) (*env, map[string]*fake.Driver) {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: testenv.OsloURL(testenv.RabbitVhost(t)),
		ControlExchange: testenv.UniqueName("api_resize_"), ResponseTimeout: 10 * time.Second, Logger: quiet})
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
		o.AllowResizeToSameHost = sameHost
	})
	var stops []func(context.Context) error
	drivers := map[string]*fake.Driver{}
	for _, h := range hosts {
		svc := e.addService(h, registry.BinaryCompute)
		drivers[h] = fake.New(fake.Options{Logger: quiet, VCPUs: 8, MemoryMB: 16384, LocalGB: 200})
		m, err := manager.New(manager.Options{Host: h, Driver: drivers[h],
			Store: e.compute, Logger: quiet, ResourceSpacing: -1, SyncPowerStateSpacing: -1, Peers: cl})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.InitHost(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.PreStartHook(ctx, svc); err != nil {
			t.Fatal(err)
		}
		srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{Target: rpcsvc.Target{Topic: rpcapi.Topic, Server: h}, Endpoints: m.Endpoints()})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stops = append(stops, srv.Stop, m.Shutdown)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, stop := range stops {
			if err := stop(sctx); err != nil {
				t.Error(err)
			}
		}
		if err := tr.Close(sctx); err != nil {
			t.Error(err)
		}
	})
	return e, drivers
}

// resizeClient is gophercloud on e's router as alice.
func resizeClient(t *testing.T, e *env) *gophercloud.ServiceClient {
	hs := httptest.NewServer(e.handler)
	t.Cleanup(hs.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Transport: tr}}
	provider.SetToken(alice)
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: hs.URL + "/v2.1/", Type: "compute", Microversion: "2.73"}
}

// waitServer polls until the server has status and power with no task.
func waitServer(t *testing.T, client *gophercloud.ServiceClient, id, status, power string) *servers.Server {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := servers.Get(ctx, client, id).Extract()
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

// nodeUsage is every node's counters, each checked against what its claims
// add up to (ReportNode recomputes them). A compute may be settling a claim
// between the two reads (the polling after a delete does read while it
// does), so a difference must last 2 s to fail the test: counters that stay
// apart from the claims are the bug this looks for.
func nodeUsage(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Second)
	for {
		out, mismatch := nodeUsageOnce(t, ctx, e)
		if mismatch == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatal(mismatch)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nodeUsageOnce reads the counters and the claims once; mismatch describes
// the first node whose two differ.
func nodeUsageOnce(t *testing.T, ctx context.Context, e *env) (usage, mismatch string) {
	t.Helper()
	nodes, err := e.compute.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		got := fmt.Sprintf("%s: %d vcpus %d MB %d GB %d vms", n.Host, n.VCPUsUsed, n.MemoryMBUsed, n.LocalGBUsed, n.RunningVMs)
		r, err := e.compute.ReportNode(ctx, computedb.Node{Host: n.Host, HypervisorHostname: n.HypervisorHostname, VCPUs: n.VCPUs,
			MemoryMB: n.MemoryMB, LocalGB: n.LocalGB}, computedb.AllocationRatios{})
		if err != nil {
			t.Fatal(err)
		}
		if again := fmt.Sprintf("%s: %d vcpus %d MB %d GB %d vms", r.Host, r.VCPUsUsed, r.MemoryMBUsed, r.LocalGBUsed, r.RunningVMs); again != got {
			return "", fmt.Sprintf("node counters %s, the claims add up to %s (for 2 s)", got, again)
		}
		out = append(out, got)
	}
	return strings.Join(out, "; "), ""
}

func flavorName(s *servers.Server) any { return s.Flavor["original_name"] }

// gophercloud resizes a server from m1.tiny to m1.small on the only
// compute (allow_resize_to_same_host), through nova-api, RabbitMQ and the
// compute manager on Postgres: VERIFY_RESIZE with both flavors' claims on
// the node, confirm leaves only the new one; a resize to m1.medium then
// reverted goes back to m1.small and its claim. A stopped server resizes
// to stopped. Wrong states are 409s; the actions and the compute's events
// are recorded.
func TestGophercloudResizeSameHostOnRabbitMQ(t *testing.T) {
	e, _ := resizeComputeEnv(t, true, "c1")
	ctx := context.Background()
	client := resizeClient(t, e)

	created, err := servers.Create(ctx, client, servers.CreateOpts{Name: "vm", FlavorRef: "1", ImageRef: imageID, Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	waitServer(t, client, id, "ACTIVE", "RUNNING")
	if got, want := nodeUsage(t, e), "c1: 1 vcpus 512 MB 1 GB 1 vms"; got != want {
		t.Fatalf("after create: %s, want %s", got, want)
	}
	// Confirm and revert of a server that was not resized: 409.
	for name, do := range map[string]func() error{
		"confirmResize": func() error { return servers.ConfirmResize(ctx, client, id).ExtractErr() },
		"revertResize":  func() error { return servers.RevertResize(ctx, client, id).ExtractErr() },
	} {
		err := do()
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) ||
			!strings.Contains(err.Error(), "Cannot '"+name+"' instance "+id+" while it is in vm_state active") {
			t.Fatalf("%s of an active server: %v", name, err)
		}
	}
	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "1"}).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) ||
		!strings.Contains(err.Error(), "When resizing, instances must change flavor!") {
		t.Fatalf("resize to the same flavor: %v", err)
	}

	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "2"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s := waitServer(t, client, id, "VERIFY_RESIZE", "RUNNING")
	if flavorName(s) != "m1.small" {
		t.Fatalf("flavor while VERIFY_RESIZE: %v", s.Flavor)
	}
	if got, want := nodeUsage(t, e), "c1: 2 vcpus 2560 MB 21 GB 1 vms"; got != want {
		t.Fatalf("while VERIFY_RESIZE (both claims): %s, want %s", got, want)
	}
	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "3"}).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) ||
		!strings.Contains(err.Error(), "while it is in vm_state resized") {
		t.Fatalf("resize of a resized server: %v", err)
	}
	if err := servers.ConfirmResize(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s = waitServer(t, client, id, "ACTIVE", "RUNNING")
	if flavorName(s) != "m1.small" {
		t.Fatalf("flavor after confirm: %v", s.Flavor)
	}
	if got, want := nodeUsage(t, e), "c1: 1 vcpus 2048 MB 20 GB 1 vms"; got != want {
		t.Fatalf("after confirm: %s, want %s", got, want)
	}

	// A stopped server resizes to stopped; revert puts m1.small back.
	if err := servers.Stop(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, client, id, "SHUTOFF", "SHUTDOWN")
	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "3"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s = waitServer(t, client, id, "VERIFY_RESIZE", "SHUTDOWN")
	if flavorName(s) != "m1.medium" {
		t.Fatalf("flavor while VERIFY_RESIZE: %v", s.Flavor)
	}
	if got, want := nodeUsage(t, e), "c1: 3 vcpus 6144 MB 60 GB 1 vms"; got != want {
		t.Fatalf("while VERIFY_RESIZE: %s, want %s", got, want)
	}
	if err := servers.RevertResize(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s = waitServer(t, client, id, "SHUTOFF", "SHUTDOWN")
	if flavorName(s) != "m1.small" {
		t.Fatalf("flavor after revert: %v", s.Flavor)
	}
	if got, want := nodeUsage(t, e), "c1: 1 vcpus 2048 MB 20 GB 1 vms"; got != want {
		t.Fatalf("after revert: %s, want %s", got, want)
	}
	// A smaller root disk is refused by the driver (nova's libvirt "Unable
	// to resize disk down"): rolled back, the server as it was, its claim
	// given back.
	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "1"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s = waitServer(t, client, id, "SHUTOFF", "SHUTDOWN")
	if flavorName(s) != "m1.small" {
		t.Fatalf("flavor after a refused downsize: %v", s.Flavor)
	}
	if got, want := nodeUsage(t, e), "c1: 1 vcpus 2048 MB 20 GB 1 vms"; got != want {
		t.Fatalf("after a refused downsize: %s, want %s", got, want)
	}

	// The actions, newest first, each with its compute events.
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
	if got := strings.Join(names, ","); got != "resize,revertResize,resize,stop,confirmResize,resize,create" {
		t.Fatalf("actions %s", got)
	}
	wantEvents := map[int]string{
		1: "compute_finish_revert_resize:Success,compute_revert_resize:Success",
		2: "compute_finish_resize:Success,compute_resize_instance:Success,compute_prep_resize:Success",
		4: "compute_confirm_resize:Success",
		0: "compute_resize_instance:Error,compute_prep_resize:Error",
	}
	for i, want := range wantEvents {
		var got string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			d, err := instanceactions.Get(ctx, client, id, acts[i].RequestID).Extract()
			if err != nil {
				t.Fatal(err)
			}
			var evs []string
			for _, ev := range *d.Events {
				evs = append(evs, ev.Event+":"+ev.Result)
			}
			if got = strings.Join(evs, ","); got == want || time.Now().After(deadline) {
				break
			}
		}
		if got != want {
			t.Errorf("%s (%d) events %s, want %s", acts[i].Action, i, got, want)
		}
	}
	if err := servers.Delete(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); nodeUsage(t, e) != "c1: 0 vcpus 0 MB 0 GB 0 vms"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after delete: %s", nodeUsage(t, e))
		}
	}
}

// Between two hosts (allow_resize_to_same_host false): the resize goes to
// the other compute, the hops cross RabbitMQ between the computes, and
// VERIFY_RESIZE holds the old flavor on the source and the new one on the
// destination; revert brings the server back to the source, confirm of a
// second resize frees the source; delete while VERIFY_RESIZE frees both.
func TestGophercloudResizeBetweenHostsOnRabbitMQ(t *testing.T) {
	e, drivers := resizeComputeEnv(t, false, "c1", "c2")
	ctx := context.Background()
	guests := func(h string) int {
		ids, err := drivers[h].ListInstanceUUIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(ids)
	}
	client := resizeClient(t, e)
	client.Microversion = "2.93"

	created, err := servers.Create(ctx, client, servers.CreateOpts{Name: "vm", FlavorRef: "1", ImageRef: imageID, Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	waitServer(t, client, id, "ACTIVE", "RUNNING")
	// The host as the database has it (alice is no admin: no
	// OS-EXT-SRV-ATTR:host).
	host := func() string {
		in, err := e.compute.GetInstance(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return in.Host
	}
	src := host()
	other := map[string]string{"c1": "c2", "c2": "c1"}[src]
	if other == "" {
		t.Fatalf("placed on %q", src)
	}
	usage := func(h1, h2 string) string {
		return "c1: " + map[bool]string{true: h1, false: h2}[src == "c1"] + "; c2: " + map[bool]string{true: h2, false: h1}[src == "c1"]
	}
	want := func(step, w string) {
		t.Helper()
		if got := nodeUsage(t, e); got != w {
			t.Fatalf("%s: %s, want %s", step, got, w)
		}
	}
	want("after create", usage("1 vcpus 512 MB 1 GB 1 vms", "0 vcpus 0 MB 0 GB 0 vms"))

	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "2"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s := waitServer(t, client, id, "VERIFY_RESIZE", "RUNNING")
	if host() != other || flavorName(s) != "m1.small" {
		t.Fatalf("VERIFY_RESIZE on %s with %v", host(), s.Flavor)
	}
	want("while VERIFY_RESIZE", usage("1 vcpus 512 MB 1 GB 0 vms", "1 vcpus 2048 MB 20 GB 1 vms"))
	if guests(src) != 1 || guests(other) != 1 {
		t.Fatalf("guests while VERIFY_RESIZE: source %d, destination %d; want the source's kept", guests(src), guests(other))
	}
	if err := servers.RevertResize(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s = waitServer(t, client, id, "ACTIVE", "RUNNING")
	if host() != src || flavorName(s) != "m1.tiny" {
		t.Fatalf("reverted to %s with %v", host(), s.Flavor)
	}
	want("after revert", usage("1 vcpus 512 MB 1 GB 1 vms", "0 vcpus 0 MB 0 GB 0 vms"))
	if guests(src) != 1 || guests(other) != 0 {
		t.Fatalf("guests after revert: source %d, destination %d", guests(src), guests(other))
	}

	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "3"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, client, id, "VERIFY_RESIZE", "RUNNING")
	if err := servers.ConfirmResize(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s = waitServer(t, client, id, "ACTIVE", "RUNNING")
	if host() != other || flavorName(s) != "m1.medium" {
		t.Fatalf("confirmed on %s with %v", host(), s.Flavor)
	}
	want("after confirm", usage("0 vcpus 0 MB 0 GB 0 vms", "2 vcpus 4096 MB 40 GB 1 vms"))
	if guests(src) != 0 || guests(other) != 1 {
		t.Fatalf("guests after confirm: source %d, destination %d", guests(src), guests(other))
	}

	// Back to the first host, then deleted while VERIFY_RESIZE.
	if err := servers.Resize(ctx, client, id, servers.ResizeOpts{FlavorRef: "4"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, client, id, "VERIFY_RESIZE", "RUNNING")
	if host() != src {
		t.Fatalf("second resize on %s", host())
	}
	want("while the second VERIFY_RESIZE", usage("4 vcpus 8192 MB 80 GB 1 vms", "2 vcpus 4096 MB 40 GB 0 vms"))
	if err := servers.Delete(ctx, client, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	zero := usage("0 vcpus 0 MB 0 GB 0 vms", "0 vcpus 0 MB 0 GB 0 vms")
	for deadline := time.Now().Add(20 * time.Second); nodeUsage(t, e) != zero; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after delete: %s", nodeUsage(t, e))
		}
	}
	// Both hosts' guests are gone: the destination's by terminate, the
	// source's by the confirm_resize nova-api sends it on delete.
	for deadline := time.Now().Add(20 * time.Second); guests("c1")+guests("c2") != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("guests after delete: c1 %d, c2 %d", guests("c1"), guests("c2"))
		}
	}
}
