package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// schemaRoute is one route of the compute API and the tempest response
// schema (tempest.lib.api_schema.response.compute) its success answer must
// match. Schema is "file.name" (servers.get_server); client, when set, is
// the tempest client (module.Class) whose schema_versions_info picks the
// module by microversion, as tempest's client does, and the route is
// checked at the first microversion of each of its modules (v2_1, v2_3,
// ..., up to the API's maximum); without a client it is checked with the
// v2_1 module at min and at the maximum. A schema of three parts
// (v2_11.services.update_forced_down) names its module itself.
//
// Path placeholders: {server} (a server made for the test, ACTIVE),
// {new_server} (one made for this request), {hypervisor} and {service}
// (the compute's, with the id form of the request's microversion),
// {actions} (an ACTIVE server the power actions move between states), and
// those a route's prep fills ({flavor}, {keypair}, {aggregate}, {group},
// {project}, {request}, {tag}).
type schemaRoute struct {
	method, path string
	schema       string
	client       string
	min, max     string
	body         func(v microversion.Version) any
	// prep, when set, makes what the request acts on, as c (the request's
	// client), and returns the values of the path's own placeholders.
	prep func(t *testing.T, f *schemaFixture, c apiClient) map[string]string
	// pending, when set, names the branch that fixes what tempest's schema
	// finds in today's answer, or the known difference (nova's own answer
	// differs from tempest's schema too): the route is requested and
	// validated, but a failure is only logged.
	pending string
}

const (
	serversClient    = "servers_client.ServersClient"
	servicesClient   = "services_client.ServicesClient"
	hypervisorClient = "hypervisor_client.HypervisorClient"
	flavorsClient    = "flavors_client.FlavorsClient"
)

func bodyOf(b any) func(microversion.Version) any { return func(microversion.Version) any { return b } }

// serverBody is a create body (networks none from 2.37, as nova requires).
func serverBody(v microversion.Version) any {
	s := map[string]any{"name": "schema-vm", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "flavorRef": "1"}
	if v.AtLeast(2, 37) {
		s["networks"] = "none"
	}
	return map[string]any{"server": s}
}

// schemaRoutes are the routes nova-api serves, each with tempest's schema
// (servedSchemaRoutes, in schemas_routes_test.go, hold the later ones).
var schemaRoutes = append([]schemaRoute{
	{method: "GET", path: "/", schema: "versions.list_versions"},
	{method: "GET", path: "/v2.1", schema: "versions.get_one_version"},
	{method: "GET", path: "/v2/", schema: "versions.get_one_version"},
	{method: "GET", path: "/v2.1/os-services", schema: "services.list_services", client: servicesClient},
	{method: "PUT", path: "/v2.1/os-services/disable", schema: "services.enable_disable_service", max: "2.52",
		body: bodyOf(map[string]any{"host": "schema-compute", "binary": "nova-compute"})},
	{method: "PUT", path: "/v2.1/os-services/disable-log-reason", schema: "services.disable_log_reason", max: "2.52",
		body: bodyOf(map[string]any{"host": "schema-compute", "binary": "nova-compute", "disabled_reason": "schema test"})},
	{method: "PUT", path: "/v2.1/os-services/enable", schema: "services.enable_disable_service", max: "2.52",
		body: bodyOf(map[string]any{"host": "schema-compute", "binary": "nova-compute"})},
	{method: "PUT", path: "/v2.1/os-services/force-down", schema: "v2_11.services.update_forced_down", min: "2.11", max: "2.52",
		body: bodyOf(map[string]any{"host": "schema-compute", "binary": "nova-compute", "forced_down": false})},
	{method: "PUT", path: "/v2.1/os-services/{service}", schema: "services.update_service", client: servicesClient, min: "2.53",
		body: bodyOf(map[string]any{"status": "enabled"})},
	{method: "GET", path: "/v2.1/os-hypervisors", schema: "hypervisors.list_search_hypervisors", client: hypervisorClient},
	{method: "GET", path: "/v2.1/os-hypervisors/detail", schema: "hypervisors.list_hypervisors_detail", client: hypervisorClient},
	{method: "GET", path: "/v2.1/os-hypervisors/{hypervisor}", schema: "hypervisors.get_hypervisor", client: hypervisorClient},
	{method: "GET", path: "/v2.1/flavors", schema: "flavors.list_flavors", client: flavorsClient},
	{method: "GET", path: "/v2.1/flavors/detail", schema: "flavors.list_flavors_details", client: flavorsClient},
	{method: "GET", path: "/v2.1/flavors/1", schema: "flavors.create_update_get_flavor_details", client: flavorsClient},
	{method: "GET", path: "/v2.1/servers", schema: "servers.list_servers", client: serversClient},
	{method: "GET", path: "/v2.1/servers/detail", schema: "servers.list_servers_detail", client: serversClient},
	{method: "GET", path: "/v2.1/servers/{server}", schema: "servers.get_server", client: serversClient},
	{method: "POST", path: "/v2.1/servers", schema: "servers.create_server_with_admin_pass", client: serversClient, body: serverBody},
	{method: "DELETE", path: "/v2.1/servers/{new_server}", schema: "servers.delete_server", client: serversClient},
	{method: "POST", path: "/v2.1/servers/{server}/action", schema: "servers.server_actions_common_schema",
		body: bodyOf(map[string]any{"reboot": map[string]any{"type": "SOFT"}})},
	{method: "POST", path: "/v2.1/servers/{server}/action", schema: "servers.get_console_output",
		body: bodyOf(map[string]any{"os-getConsoleOutput": map[string]any{"length": 5}})},
}, servedSchemaRoutes...)

// schemasPendingOnOtherBranches are tempest's schemas of the routes other
// branches are building (named beside each): move an entry into
// schemaRoutes, with its route, when its branch is merged.
var schemasPendingOnOtherBranches = map[string]string{}

// schemaPlanRow is one check: a route at a microversion, with the tempest
// module that applies there.
type schemaPlanRow struct {
	Version string `json:"version"`
	Module  string `json:"module"`
}

// schemaCase is what testdata/tempest/schemas.py validate reads.
type schemaCase struct {
	Module  string            `json:"module"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

func runSchemasPy(t *testing.T, mode string, in any, out any) {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.PythonPath, "testdata/tempest/schemas.py", mode)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("schemas.py %s: %v\n%s", mode, err, tail(stderr.String(), 40))
	}
	if err := json.Unmarshal(got, out); err != nil {
		t.Fatalf("schemas.py %s printed %q: %v", mode, got, err)
	}
}

// rawRequest sends one request as c and returns the status, headers and
// body (null when empty).
func rawRequest(t *testing.T, c apiClient, method, path string, body any) (int, http.Header, json.RawMessage) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.version != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+c.version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("null")
	}
	return resp.StatusCode, resp.Header, b
}

// Every response nova-api serves on the routes of schemaRoutes, at each
// microversion where tempest has a schema module for it, validated by
// tempest's own RestClient.validate_response (status code, body with
// tempest's jsonschema validator and format checkers, headers), as tempest's
// compute clients check real nova's answers.
func TestTempestResponseSchemas(t *testing.T) {
	testenv.RequirePython(t, "tempest.lib.api_schema.response.compute.v2_1.servers, tempest.lib.common.rest_client", "python3-tempest")
	began := time.Now()
	addr := freeAddr(t)
	host, port := splitHostPort(t, addr)
	// nova-all: the API, a compute (host schema-compute, the fake driver),
	// the in-memory store and transport; noauth2.
	p := start(t, "nova-all", "nova-all", writeConf(t, "nova-all.conf", map[string]map[string]string{
		"DEFAULT": {"host": "schema-compute", "my_ip": "127.0.0.1", "osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"periodic_fuzzy_delay": "0", "report_interval": "1", "graceful_shutdown_timeout": "10",
			"allow_resize_to_same_host": "true"}, // one compute: resizes stay on it
		"api":    {"auth_strategy": "noauth2"},
		"gonova": {"metrics_listen": ""},
	}))
	base := "http://" + addr
	waitHealthy(t, p, base, 30*time.Second)
	admin := apiClient{base: base, token: "admin:admin"}
	var doc struct {
		Version struct{ Version string } `json:"version"`
	}
	if _, err := admin.do(http.MethodGet, "/v2.1", nil, &doc); err != nil {
		t.Fatal(err)
	}
	maxV := doc.Version.Version
	server := createServer(t, admin, "schema-fixture")
	actions := createServer(t, admin, "schema-actions")
	waitActive(t, admin, server)
	waitActive(t, admin, actions)
	fixture := &schemaFixture{admin: admin, server: server, actions: actions, project: "admin"}

	type planRoute struct {
		Schema string `json:"schema"`
		Client string `json:"client"`
		Min    string `json:"min"`
		Max    string `json:"max"`
	}
	var routes []planRoute
	for _, r := range schemaRoutes {
		routes = append(routes, planRoute{Schema: r.schema, Client: r.client, Min: r.min, Max: r.max})
	}
	var plan [][]schemaPlanRow
	runSchemasPy(t, "plan", map[string]any{"max": maxV, "routes": routes}, &plan)

	type check struct {
		label   string
		pending string
		c       schemaCase
	}
	var checks []check
	for i, r := range schemaRoutes {
		for _, row := range plan[i] {
			v := microversion.MustParse(row.Version)
			c := apiClient{base: base, token: admin.token, version: row.Version}
			path := r.path
			if r.prep != nil {
				for k, val := range r.prep(t, fixture, c) {
					path = strings.ReplaceAll(path, k, val)
				}
			}
			path = strings.ReplaceAll(path, "{actions}", actions)
			if strings.Contains(path, "{server}") {
				path = strings.ReplaceAll(path, "{server}", server)
				if r.method == http.MethodPost {
					// An action on the shared server waits for the one
					// before it (a reboot at the previous microversion)
					// to end: nova answers 409 while a task runs.
					waitNoTask(t, admin, server)
				}
			}
			if strings.Contains(path, "{new_server}") {
				path = strings.ReplaceAll(path, "{new_server}", createServer(t, admin, "schema-delete"))
			}
			if strings.Contains(path, "{hypervisor}") {
				var hs struct {
					Hypervisors []struct {
						ID any `json:"id"`
					} `json:"hypervisors"`
				}
				if _, err := c.do(http.MethodGet, "/v2.1/os-hypervisors", nil, &hs); err != nil || len(hs.Hypervisors) == 0 {
					t.Fatalf("hypervisors at %s: %v %+v", row.Version, err, hs)
				}
				path = strings.ReplaceAll(path, "{hypervisor}", fmt.Sprint(hs.Hypervisors[0].ID))
			}
			if strings.Contains(path, "{service}") {
				var ss struct {
					Services []struct {
						ID     any    `json:"id"`
						Binary string `json:"binary"`
					} `json:"services"`
				}
				if _, err := c.do(http.MethodGet, "/v2.1/os-services?binary=nova-compute", nil, &ss); err != nil || len(ss.Services) == 0 {
					t.Fatalf("services at %s: %v %+v", row.Version, err, ss)
				}
				path = strings.ReplaceAll(path, "{service}", fmt.Sprint(ss.Services[0].ID))
			}
			var body any
			if r.body != nil {
				body = r.body(v)
			}
			status, h, b := rawRequest(t, c, r.method, path, body)
			headers := map[string]string{}
			for k := range h {
				headers[k] = h.Get(k)
			}
			checks = append(checks, check{label: fmt.Sprintf("%s %s at %s (%s)", r.method, path, row.Version, row.Module), pending: r.pending,
				c: schemaCase{Module: row.Module, Status: status, Headers: headers, Body: b}})
		}
	}
	cases := make([]schemaCase, len(checks))
	for i := range checks {
		cases[i] = checks[i].c
	}
	validateBegan := time.Now()
	var results []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	runSchemasPy(t, "validate", cases, &results)
	if len(results) != len(checks) {
		t.Fatalf("schemas.py validated %d of %d responses", len(results), len(checks))
	}
	failed, known := 0, 0
	for i, r := range results {
		switch {
		case !r.OK && checks[i].pending != "":
			known++
			t.Logf("pending on %s: %s: %s", checks[i].pending, checks[i].label, oneLine(r.Error, 300))
		case r.OK && checks[i].pending != "":
			t.Logf("passes now, delete its pending (%s): %s", checks[i].pending, checks[i].label)
		case !r.OK:
			failed++
			t.Errorf("%s: %d %s\n  %s", checks[i].label, checks[i].c.Status, oneLine(string(checks[i].c.Body), 400), r.Error)
		}
	}
	pendingNames := make([]string, 0, len(schemasPendingOnOtherBranches))
	for s, b := range schemasPendingOnOtherBranches {
		pendingNames = append(pendingNames, s+" ("+b+")")
	}
	t.Logf("tempest schemas: %d responses of %d routes checked at microversions 2.1-%s, %d failed, %d failed as known (pending); validation took %v, the whole test %v",
		len(checks), len(schemaRoutes), maxV, failed, known, time.Since(validateBegan).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	t.Logf("schemasPendingOnOtherBranches (not checked): %s", strings.Join(pendingNames, "; "))
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("nova-all exited %d after SIGTERM", code)
	}
}

// waitNoTask waits until server id is ACTIVE with no task running
// (OS-EXT-STS:task_state null), as a client must before its next action.
func waitNoTask(t *testing.T, c apiClient, id string) {
	t.Helper()
	eventually(t, 20*time.Second, "server "+id+" ACTIVE with no task", func() error {
		var s struct {
			Server map[string]any `json:"server"`
		}
		if _, err := c.do(http.MethodGet, "/v2.1/servers/"+id, nil, &s); err != nil {
			return err
		}
		if st, task := s.Server["status"], s.Server["OS-EXT-STS:task_state"]; st != "ACTIVE" || task != nil {
			return fmt.Errorf("status %v, task_state %v", st, task)
		}
		return nil
	})
}
