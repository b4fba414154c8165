package api

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/tcpproxy"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// routeCall is one request of every route the router serves.
type routeCall struct {
	method, path, token, version string
	body                         any
}

// everyRoute is a request of every route, naming service, node and server
// ids (which need not exist), in every microversion branch.
func everyRoute(serviceID, serviceUUID, nodeID, nodeUUID, serverID string) []routeCall {
	return []routeCall{
		{"GET", "/v2.1/os-services", admin, "", nil},
		{"GET", "/v2.1/os-services?host=c1&binary=nova-compute", admin, "2.53", nil},
		{"PUT", "/v2.1/os-services/disable", admin, "", map[string]any{"host": "c1", "binary": "nova-compute"}},
		{"PUT", "/v2.1/os-services/force-down", admin, "2.11", map[string]any{"host": "c1", "binary": "nova-compute", "forced_down": true}},
		{"PUT", "/v2.1/os-services/" + serviceUUID, admin, "2.53", map[string]any{"status": "disabled"}},
		{"DELETE", "/v2.1/os-services/" + serviceID, admin, "", nil},
		{"DELETE", "/v2.1/os-services/" + serviceUUID, admin, "2.53", nil},
		{"GET", "/v2.1/os-hypervisors", admin, "", nil},
		{"GET", "/v2.1/os-hypervisors?limit=1", admin, "2.53", nil},
		{"GET", "/v2.1/os-hypervisors/detail", admin, "", nil},
		{"GET", "/v2.1/os-hypervisors/" + nodeID, admin, "", nil},
		{"GET", "/v2.1/os-hypervisors/" + nodeUUID, admin, "2.53", nil},
		{"GET", "/v2.1/servers", alice, "", nil},
		{"GET", "/v2.1/servers?all_tenants=1", admin, "", nil},
		{"GET", "/v2.1/servers?limit=1&marker=" + serverID, alice, "", nil},
		{"GET", "/v2.1/servers/detail", alice, "", nil},
		{"GET", "/v2.1/servers/detail", admin, "2.16", nil},
		{"POST", "/v2.1/servers", alice, "", bootBody("vm", "1")},
		{"GET", "/v2.1/servers/" + serverID, alice, "", nil},
		{"GET", "/v2.1/servers/" + serverID, admin, "2.53", nil},
		{"DELETE", "/v2.1/servers/" + serverID, alice, "", nil},
		{"POST", "/v2.1/servers/" + serverID + "/action", alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}},
		{"POST", "/v2.1/servers/" + serverID + "/action", alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": 10}}},
		{"GET", "/v2.1/flavors", alice, "", nil},
		{"GET", "/v2.1/flavors/detail", alice, "", nil},
		{"GET", "/v2.1/flavors/1", alice, "", nil},
		{"POST", "/v2.1/flavors", admin, "", map[string]any{"flavor": map[string]any{"name": "f", "ram": 1, "vcpus": 1, "disk": 0}}},
		{"DELETE", "/v2.1/flavors/1", admin, "", nil},
		{"GET", "/v2.1/flavors/1/os-extra_specs", admin, "", nil},
		{"POST", "/v2.1/flavors/1/os-extra_specs", admin, "", map[string]any{"extra_specs": map[string]any{"a": "b"}}},
		{"GET", "/v2.1/flavors/1/os-flavor-access", admin, "", nil},
		{"POST", "/v2.1/flavors/1/action", admin, "", map[string]any{"addTenantAccess": map[string]any{"tenant": "p"}}},
		{"GET", "/v2.1/os-keypairs", alice, "", nil},
		{"POST", "/v2.1/os-keypairs", alice, "2.10", map[string]any{"keypair": map[string]any{"name": "k", "public_key": fuzzPublicKey}}},
		{"GET", "/v2.1/os-keypairs/k", alice, "", nil},
		{"DELETE", "/v2.1/os-keypairs/k", alice, "", nil},
		{"GET", "/v2.1/servers/" + serverID + "/metadata", alice, "", nil},
		{"POST", "/v2.1/servers/" + serverID + "/metadata", alice, "", map[string]any{"metadata": map[string]any{"a": "b"}}},
		{"GET", "/v2.1/servers/" + serverID + "/tags", alice, "2.26", nil},
		{"PUT", "/v2.1/servers/" + serverID + "/tags/x", alice, "2.26", nil},
	}
}

// noDatabaseRoutes need no database: they answer as usual in an outage.
var noDatabaseRoutes = []routeCall{
	{"GET", "/", "", "", nil},
	{"GET", "/v2.1", "", "", nil},
	{"GET", "/v2.1/", "", "", nil},
}

// onStores is newEnv with the router over the given Postgres stores.
func onStores(t *testing.T, services registry.Store, compute computedb.Store) *env {
	e := newEnv(t, memBackend, func(d *Deps, o *computeapi.Options) {
		d.Services, d.Compute, o.Services, o.Compute = services, compute, services, compute
	})
	e.services, e.compute, e.clk = services, compute, nil
	// A database that refuses has no flavors to seed.
	_, _ = computedb.CreateDefaultFlavors(context.Background(), compute)
	return e
}

// TestDatabaseDownIs503 points the API at a Postgres that refuses
// connections, and at one whose connections are cut after the data was
// written: every route that needs the database answers 503 with nova's
// serviceUnavailable body (never a 500), and the others answer as usual.
func TestDatabaseDownIs503(t *testing.T) {
	check := func(t *testing.T, e *env, calls []routeCall) {
		t.Helper()
		for _, c := range calls {
			r := e.do(c.method, c.path, c.token, c.version, c.body)
			if r.Code != 503 {
				t.Errorf("%s %s (%s): status %d, want 503; body %s", c.method, c.path, c.version, r.Code, r.Raw)
				continue
			}
			b, err := fault.Parse(r.Raw)
			if err != nil || b.Name != "serviceUnavailable" || b.Code != 503 || b.Message != fault.UnavailableMessage {
				t.Errorf("%s %s: body %s (%v)", c.method, c.path, r.Raw, err)
			}
		}
		for _, c := range noDatabaseRoutes {
			if r := e.do(c.method, c.path, c.token, c.version, c.body); r.Code != 200 {
				t.Errorf("%s %s without a database: status %d, want 200; body %s", c.method, c.path, r.Code, r.Raw)
			}
		}
	}
	const someUUID = "5f0c4bde-22f1-4d0b-8b8e-0c1f3f3f3f3f"

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
		e := onStores(t, pgstore.New(pool), computedb.NewPG(pool))
		check(t, e, everyRoute("1", someUUID, "1", someUUID, someUUID))
	})

	t.Run("cut", func(t *testing.T) {
		dbURL := pgtest.NewDatabase(t)
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := tcpproxy.Start(t, u.Host)
		u.Host = proxy.Addr()
		pool := pgtest.OpenPool(t, u.String())
		e := onStores(t, pgstore.New(pool), computedb.NewPG(pool))
		svc, node := e.addNode("c1", 64, 1<<20, 10000)
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
		r.want(t, 202)
		server := obj(t, r.Body["server"])["id"].(string)
		routes := everyRoute(itoa(svc.ID), svc.UUID, itoa(node.ID), node.UUID, server)
		for _, c := range routes[:1] {
			e.do(c.method, c.path, c.token, c.version, c.body).want(t, 200)
		}
		proxy.SetRefuse(true)
		proxy.CutAll()
		check(t, e, routes)
		// The database comes back: so does the API.
		proxy.SetRefuse(false)
		e.do("GET", "/v2.1/servers/"+server, alice, "", nil).want(t, 200)
		e.do("GET", "/v2.1/os-hypervisors/"+itoa(node.ID), admin, "", nil).want(t, 200)
	})
}
