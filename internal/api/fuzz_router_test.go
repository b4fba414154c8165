package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

// fuzzRoutes are the router's routes; {id} is filled from the input.
var fuzzRoutes = []string{
	"/", "/v2.1", "/v2.1/",
	"/v2.1/os-services", "/v2.1/os-services/{id}",
	"/v2.1/os-hypervisors", "/v2.1/os-hypervisors/detail", "/v2.1/os-hypervisors/{id}",
	"/v2.1/flavors", "/v2.1/flavors/detail", "/v2.1/flavors/{id}",
	"/v2.1/servers", "/v2.1/servers/detail", "/v2.1/servers/{id}", "/v2.1/servers/{id}/action",
	// wt/infra: the legacy v2 API, hypervisor extras, zones, aggregates,
	// os-hosts (its reboot, shutdown and startup are 501 or 404, never a
	// success, so they have no valid seed and are left out).
	"/v2", "/v2/", "/v2/servers",
	"/v2.1/os-hypervisors/statistics", "/v2.1/os-hypervisors/{id}/uptime", "/v2.1/os-hypervisors/{id}/search",
	"/v2.1/os-hypervisors/{id}/servers",
	"/v2.1/os-availability-zone", "/v2.1/os-availability-zone/detail",
	"/v2.1/os-aggregates", "/v2.1/os-aggregates/{id}", "/v2.1/os-aggregates/{id}/action",
	"/v2.1/os-hosts", "/v2.1/os-hosts/{id}",
	"/v2.1/servers/{id}/os-instance-actions", "/v2.1/servers/{id}/os-instance-actions/req-seed",
	"/v2.1/flavors/{id}/action", "/v2.1/flavors/{id}/os-flavor-access", "/v2.1/flavors/{id}/os-extra_specs",
	"/v2.1/flavors/{id}/os-extra_specs/hw:cpu_policy", "/v2.1/os-keypairs", "/v2.1/os-keypairs/{id}",
	"/v2.1/servers/{id}/metadata", "/v2.1/servers/{id}/metadata/role", "/v2.1/servers/{id}/tags", "/v2.1/servers/{id}/tags/t1",
	"/v2.1/os-quota-sets/{id}", "/v2.1/os-quota-sets/{id}/defaults", "/v2.1/os-quota-sets/{id}/detail", "/v2.1/limits",
	"/v2.1/os-simple-tenant-usage", "/v2.1/os-simple-tenant-usage/{id}", "/v2.1/os-server-groups", "/v2.1/os-server-groups/{id}",
	"/v2.1/os-quota-class-sets/{id}",
}

// fuzzIDChoices are the ids an input's id byte picks for {id} (one in
// len+1 takes the input's id string instead), so that mutated inputs still
// name rows that exist.
var fuzzIDChoices = []string{"@svc", "@svcuuid", "@condsvc", "@apisvc", "@node", "@nodeuuid", "@srv", "@bobsrv", "@errsrv",
	"disable", "enable", "disable-log-reason", "force-down", "1", "@agg", "c1", "priv", "k1"}

// fuzzMethods are the methods an input's method byte picks from; an input
// may also name its own.
var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"}

// FuzzRouter drives the whole nova-api router, over the in-memory stores
// and over Postgres (one database for the run), with random methods, paths
// (a route of the table with a random id, or random segments), query
// strings, tokens, microversion and content-type headers and bodies. The
// request is parsed from its wire form as the HTTP server parses it
// (inputs the server itself refuses are skipped). Whatever the input:
//   - no answer is a 5xx;
//   - every error answer is nova's fault body with the same code;
//   - both stores give the same status (the embedded default means what
//     the Postgres deployment means).
//
// In the input, @svc and @svcuuid (c1's compute service), @condsvc,
// @apisvc, @node and @nodeuuid (c1's node), @srv (alice's server), @bobsrv
// and @errsrv stand for the ids of the seeded rows of each store. Each
// input starts from the same seeded state.
//
//	go test -run '^$' -fuzz FuzzRouter -fuzztime 100000x -timeout 0 ./internal/api/
func FuzzRouter(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.method, s.route, s.which, s.id, s.extra, s.query, s.token, s.version, s.ctype, s.body)
	}
	fixtures := []*fuzzFixture{newMemFixture(f), newPGFixture(f)}
	f.Fuzz(func(t *testing.T, method string, route, which uint8, id, extra, query, token, version, ctype string, body []byte) {
		fuzzOne(t, fixtures, fuzzSeed{method, route, which, id, extra, query, token, version, ctype, body, 0})
	})
}

// TestFuzzRouterSeeds: the seeds are what they claim, a valid request of
// every route (and the bad inputs), each answered as it should be by both
// stores.
func TestFuzzRouterSeeds(t *testing.T) {
	fixtures := []*fuzzFixture{newMemFixture(t), newPGFixture(t)}
	covered := map[uint8]bool{}
	for _, s := range fuzzSeeds() {
		if got := fuzzOne(t, fixtures, s); got != s.want {
			t.Errorf("seed %s %d %s %s: %d, want %d", s.method, s.route, s.id, s.query, got, s.want)
		}
		if s.want < 300 {
			covered[s.route] = true
		}
	}
	for i, r := range fuzzRoutes {
		if !covered[uint8(i)] {
			t.Errorf("no valid seed of %s", r)
		}
	}
}

// fuzzOne sends the input to every fixture and checks the answers; it
// returns the status (0 for an input the HTTP server refuses itself).
func fuzzOne(t *testing.T, fixtures []*fuzzFixture, in fuzzSeed) int {
	t.Helper()
	raw, ok := fuzzRequest(in.method, in.route, in.which, in.id, in.extra, in.query, in.token, in.version, in.ctype, in.body)
	if !ok {
		return 0
	}
	codes := make([]int, len(fixtures))
	for i, fx := range fixtures {
		wire := fx.expand(raw)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
		if err != nil || !validRequestLine(req) {
			return 0 // the server answers 400 itself, before any handler
		}
		req.RemoteAddr = "192.0.2.1:1234"
		w := httptest.NewRecorder()
		fx.handler().ServeHTTP(w, req)
		codes[i] = w.Code
		if w.Code >= 500 {
			t.Fatalf("%s: %d %s\nrequest:\n%q", fx.name, w.Code, w.Body.Bytes(), wire)
		}
		if w.Code >= 400 && req.Method != "HEAD" {
			b, err := fault.Parse(w.Body.Bytes())
			if err != nil || b.Code != w.Code || b.Message == "" || b.Name != fault.Name(w.Code) {
				t.Fatalf("%s: bad fault body %q for %d (%v)\nrequest:\n%q", fx.name, w.Body.Bytes(), w.Code, err, wire)
			}
		}
		fx.after(t, req.Method, w.Code)
	}
	for i := 1; i < len(codes); i++ {
		if codes[i] != codes[0] {
			t.Fatalf("%s answered %d, %s %d\nrequest:\n%q", fixtures[0].name, codes[0], fixtures[i].name, codes[i], raw)
		}
	}
	return codes[0]
}

// fuzzRequest builds the request's wire form. The inputs are mapped so
// that most of them reach a handler: the method is one of fuzzMethods
// (picked by the input's bytes) unless the input starts with "!", which
// sends the rest as it is; the route byte picks a route of the table, or
// (one in len+1) a path made of the id alone; the id byte picks the id of
// a seeded row for {id}, or (one in len+1) the id string. What no client could put on
// the wire as such is made sendable rather than dropped: bytes a request
// line cannot hold (controls, space, DEL) are %-escaped, and header values
// lose the control characters the server would refuse. ok is false only
// for inputs the server still refuses.
func fuzzRequest(method string, route, which uint8, id, extra, query, token, version, ctype string, body []byte) ([]byte, bool) {
	if own, ok := strings.CutPrefix(method, "!"); ok && isToken(own) {
		method = own
	} else if !slices.Contains(fuzzMethods, method) {
		n := 0
		for i := 0; i < len(method); i++ {
			n += int(method[i])
		}
		method = fuzzMethods[n%len(fuzzMethods)]
	}
	var path string
	if w := int(which) % (len(fuzzIDChoices) + 1); w < len(fuzzIDChoices) {
		id = fuzzIDChoices[w]
	}
	if r := int(route) % (len(fuzzRoutes) + 1); r < len(fuzzRoutes) {
		path = strings.ReplaceAll(fuzzRoutes[r], "{id}", id)
	} else {
		path = "/" + id
	}
	path += extra
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if query != "" {
		path += "?" + query
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: nova.example\r\n", method, escapeTarget(path))
	header := func(name, value string) {
		if value = headerValue(value); value != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", name, value)
		}
	}
	header("X-Auth-Token", token)
	if v, ok := strings.CutPrefix(version, "legacy:"); ok {
		header("X-OpenStack-Nova-API-Version", v)
	} else {
		header("OpenStack-API-Version", version)
	}
	header("Content-Type", ctype)
	if len(body) > 0 || method == "POST" || method == "PUT" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes(), true
}

// escapeTarget %-escapes the bytes a request line cannot carry.
func escapeTarget(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerValue drops the bytes net/http refuses in a header value (controls
// other than tab, DEL) and the spaces it would trim.
func headerValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= ' ' || c == '\t') && c != 0x7f {
			b.WriteByte(c)
		}
	}
	return strings.Trim(b.String(), " \t")
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// validRequestLine is what net/http's server checks after parsing: a
// method that is a token (CONNECT aside), HTTP/1.1.
func validRequestLine(r *http.Request) bool {
	return isToken(r.Method) && r.Method != "CONNECT" && r.ProtoMajor == 1 && r.ProtoMinor == 1
}

func isTokenChar(c byte) bool {
	return c > 0x20 && c < 0x7f && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
}

// fuzzSeed is one input of FuzzRouter, and the status it gets.
type fuzzSeed struct {
	method                                  string
	route, which                            uint8
	id, extra, query, token, version, ctype string
	body                                    []byte
	want                                    int
}

// fuzzSeeds are a valid request of every route (each microversion branch),
// and the bad inputs that once reached the database.
func fuzzSeeds() []fuzzSeed {
	idx := func(route string) uint8 {
		for i, r := range fuzzRoutes {
			if r == route {
				return uint8(i)
			}
		}
		panic(route)
	}
	var seeds []fuzzSeed
	add := func(want int, method, route, id, query, token, version string, body string) {
		ctype := ""
		if body != "" {
			ctype = "application/json"
		}
		which := slices.Index(fuzzIDChoices, id)
		if which < 0 {
			which = len(fuzzIDChoices)
		}
		seeds = append(seeds, fuzzSeed{method, idx(route), uint8(which), id, "", query, token, version, ctype, []byte(body), want})
	}
	boot := `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "` + imageID + `", "metadata": {"role": "web"}}}`
	compute := func(more string) string { return `{"host": "c1", "binary": "nova-compute"` + more + `}` }
	add(200, "GET", "/", "", "", "", "", "")
	add(200, "GET", "/v2.1", "", "", "", "", "")
	add(200, "GET", "/v2.1/", "", "", "", "", "")
	add(200, "GET", "/v2.1/os-services", "", "", admin, "", "")
	add(200, "GET", "/v2.1/os-services", "", "host=c1&binary=nova-compute", admin, "compute 2.53", "")
	add(406, "GET", "/v2.1/os-services", "", "host=c1", admin, "compute 2.94", "")
	add(200, "PUT", "/v2.1/os-services/{id}", "disable", "", admin, "", compute(""))
	add(200, "PUT", "/v2.1/os-services/{id}", "enable", "", admin, "", compute(""))
	add(200, "PUT", "/v2.1/os-services/{id}", "disable-log-reason", "", admin, "", compute(`, "disabled_reason": "maintenance"`))
	add(200, "PUT", "/v2.1/os-services/{id}", "force-down", "", admin, "compute 2.11", compute(`, "forced_down": true`))
	add(200, "PUT", "/v2.1/os-services/{id}", "@svcuuid", "", admin, "compute 2.53", `{"status": "disabled", "disabled_reason": "r"}`)
	add(200, "PUT", "/v2.1/os-services/{id}", "@svcuuid", "", admin, "compute 2.53", `{"forced_down": false}`)
	add(204, "DELETE", "/v2.1/os-services/{id}", "@condsvc", "", admin, "", "")
	add(204, "DELETE", "/v2.1/os-services/{id}", "@apisvc", "", admin, "compute 2.52", "")
	add(409, "DELETE", "/v2.1/os-services/{id}", "@svc", "", admin, "", "")
	add(409, "DELETE", "/v2.1/os-services/{id}", "@svcuuid", "", admin, "compute 2.53", "")
	add(200, "GET", "/v2.1/os-hypervisors", "", "", admin, "", "")
	add(200, "GET", "/v2.1/os-hypervisors", "", "limit=1&marker=@node", admin, "compute 2.33", "")
	add(200, "GET", "/v2.1/os-hypervisors", "", "limit=1&marker=@nodeuuid", admin, "compute 2.53", "")
	add(200, "GET", "/v2.1/os-hypervisors/detail", "", "", admin, "compute 2.28", "")
	add(200, "GET", "/v2.1/os-hypervisors/{id}", "@node", "", admin, "", "")
	add(200, "GET", "/v2.1/os-hypervisors/{id}", "@nodeuuid", "", admin, "compute 2.53", "")
	add(200, "GET", "/v2.1/flavors", "", "", alice, "", "")
	add(200, "GET", "/v2.1/flavors/detail", "", "", alice, "", "")
	add(200, "GET", "/v2.1/flavors/{id}", "1", "", alice, "", "")
	add(200, "GET", "/v2.1/servers", "", "", alice, "", "")
	add(200, "GET", "/v2.1/servers", "", "limit=1&marker=@srv", alice, "", "")
	add(200, "GET", "/v2.1/servers", "", "all_tenants=1", admin, "", "")
	add(200, "GET", "/v2.1/servers/detail", "", "", alice, "compute 2.53", "")
	add(200, "GET", "/v2.1/servers/detail", "", "all_tenants=true", admin, "compute 2.16", "")
	add(202, "POST", "/v2.1/servers", "", "", alice, "", boot)
	add(202, "POST", "/v2.1/servers", "", "", bob, "compute 2.37", `{"server": {"name": "vm", "flavorRef": "http://x/flavors/2", "imageRef": "`+imageID+`", "networks": "auto"}}`)
	add(200, "GET", "/v2.1/servers/{id}", "@srv", "", alice, "", "")
	add(200, "GET", "/v2.1/servers/{id}", "@errsrv", "", admin, "compute 2.16", "")
	add(204, "DELETE", "/v2.1/servers/{id}", "@srv", "", alice, "", "")
	add(204, "DELETE", "/v2.1/servers/{id}", "@bobsrv", "", bob, "", "")
	add(202, "POST", "/v2.1/servers/{id}/action", "@srv", "", alice, "", `{"reboot": {"type": "HARD"}}`)
	add(202, "POST", "/v2.1/servers/{id}/action", "@srv", "", alice, "", `{"reboot": {"type": "SOFT"}}`)
	add(200, "POST", "/v2.1/servers/{id}/action", "@srv", "", alice, "", `{"os-getConsoleOutput": {"length": 5}}`)
	add(200, "POST", "/v2.1/servers/{id}/action", "@srv", "", alice, "", `{"os-getConsoleOutput": {}}`)
	// The server actions, os-instance-actions and PUT (a malformed body is
	// a 400 even for an unknown server).
	for _, a := range []string{`{"os-stop": null}`, `{"pause": null}`, `{"suspend": {}}`, `{"lock": null}`, `{"unlock": null}`,
		`{"rebuild": {"imageRef": "` + imageID + `", "name": "new"}}`} {
		add(202, "POST", "/v2.1/servers/{id}/action", "@srv", "", alice, "", a)
	}
	add(409, "POST", "/v2.1/servers/{id}/action", "@srv", "", alice, "", `{"os-start": null}`)
	add(409, "POST", "/v2.1/servers/{id}/action", "@errsrv", "", alice, "", `{"resume": null}`)
	add(202, "POST", "/v2.1/servers/{id}/action", "@srv", "", admin, "", `{"lock": {"locked_reason": ""}}`) // no schema before 2.73
	add(400, "POST", "/v2.1/servers/{id}/action", "nope", "", alice, "", `{"rebuild": {"imageRef": "x"}}`)
	add(200, "PUT", "/v2.1/servers/{id}", "@srv", "", alice, "", `{"server": {"name": "renamed"}}`)
	add(200, "PUT", "/v2.1/servers/{id}", "@srv", "", alice, "compute 2.19", `{"server": {"description": "d"}}`)
	add(400, "PUT", "/v2.1/servers/{id}", "nope", "", alice, "", `{"server": {"name": ""}}`)
	add(200, "GET", "/v2.1/servers/{id}/os-instance-actions", "@srv", "", alice, "", "")
	add(200, "GET", "/v2.1/servers/{id}/os-instance-actions", "@srv", "limit=1&marker=req-seed", alice, "compute 2.53", "")
	add(200, "GET", "/v2.1/servers/{id}/os-instance-actions/req-seed", "@srv", "", alice, "", "")
	add(200, "GET", "/v2.1/servers/{id}/os-instance-actions/req-seed", "@srv", "", admin, "compute 2.51", "")
	add(200, "GET", "/v2.1/os-quota-sets/{id}", "proj-a", "user_id=alice", alice, "", "")
	add(200, "GET", "/v2.1/os-quota-sets/{id}/defaults", "proj-a", "", alice, "compute 2.53", "")
	add(200, "GET", "/v2.1/os-quota-sets/{id}/detail", "proj-a", "", alice, "", "")
	add(200, "PUT", "/v2.1/os-quota-sets/{id}", "proj-a", "", admin, "", `{"quota_set": {"instances": 20, "force": true}}`)
	add(400, "PUT", "/v2.1/os-quota-sets/{id}", "proj-a", "", admin, "", `{"quota_set": {"instances": 0}}`)
	add(202, "DELETE", "/v2.1/os-quota-sets/{id}", "proj-a", "user_id=alice", admin, "", "")
	add(200, "GET", "/v2.1/os-quota-class-sets/{id}", "default", "", admin, "compute 2.50", "")
	add(200, "PUT", "/v2.1/os-quota-class-sets/{id}", "gold", "", admin, "", `{"quota_class_set": {"instances": 50}}`)
	add(200, "GET", "/v2.1/limits", "", "", alice, "", "")
	add(200, "GET", "/v2.1/limits", "", "tenant_id=proj-b", admin, "compute 2.39", "")
	add(200, "GET", "/v2.1/os-simple-tenant-usage", "", "detailed=1&start=2020-01-01T00:00:00", admin, "", "")
	add(200, "GET", "/v2.1/os-simple-tenant-usage/{id}", "proj-a", "limit=1", alice, "compute 2.40", "")
	add(200, "GET", "/v2.1/os-server-groups", "", "all_projects=1", admin, "compute 2.13", "")
	add(200, "GET", "/v2.1/os-server-groups/{id}", fuzzGroup, "", alice, "compute 2.15", "")
	add(200, "POST", "/v2.1/os-server-groups", "", "", alice, "compute 2.15", `{"server_group": {"name": "g", "policies": ["soft-affinity"]}}`)
	add(200, "POST", "/v2.1/os-server-groups", "", "", alice, "", `{"server_group": {"name": "g", "policies": ["affinity"]}}`)
	add(404, "GET", "/v2.1/os-server-groups/{id}", "@srv", "", alice, "", "")
	add(400, "POST", "/v2.1/servers", "", "", alice, "", `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "`+imageID+`"}, "os:scheduler_hints": {"group": "x"}}`)
	// Spellings, ranges and encodings that once reached the database.
	add(200, "GET", "/v2.1/servers/{id}", "urn:uuid:@srv", "", alice, "", "")
	add(200, "GET", "/v2.1/servers/{id}", "%7B@srv%7D", "", alice, "", "")
	add(404, "GET", "/v2.1/os-hypervisors/{id}", "3000000000", "", admin, "", "")
	add(404, "DELETE", "/v2.1/os-services/{id}", "3000000000", "", admin, "", "")
	add(400, "GET", "/v2.1/os-services", "", "host=%ff", admin, "", "")
	add(200, "GET", "/v2.1/os-services", "", "host="+strings.Repeat("h", 300), admin, "", "")
	add(400, "GET", "/v2.1/servers", "", "limit=99999999999999999999&marker=x", alice, "", "")
	add(400, "POST", "/v2.1/servers", "", "", alice, "", `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "`+imageID+`", "metadata": {"k": "\u0000"}}}`)
	add(401, "GET", "/v2.1/servers", "", "", strings.Repeat("u", 300)+":p", "", "")
	add(200, "POST", "/v2.1/flavors", "", "", admin, "compute 2.53", `{"flavor": {"name": "f1", "ram": 64, "vcpus": 1, "disk": 0, "id": "f1"}}`)
	add(400, "POST", "/v2.1/flavors", "", "", admin, "", `{"flavor": {"name": "f1", "ram": 0, "vcpus": 1, "disk": 0}}`)
	add(409, "POST", "/v2.1/flavors", "", "", admin, "", `{"flavor": {"name": "m1.tiny", "ram": 64, "vcpus": 1, "disk": 0}}`)
	add(404, "PUT", "/v2.1/flavors/{id}", "1", "", admin, "compute 2.53", `{"flavor": {"description": null}}`)
	add(202, "DELETE", "/v2.1/flavors/{id}", "1", "", admin, "", "")
	add(200, "POST", "/v2.1/flavors/{id}/action", "priv", "", admin, "", `{"addTenantAccess": {"tenant": "proj-b"}}`)
	add(200, "POST", "/v2.1/flavors/{id}/action", "priv", "", admin, "", `{"removeTenantAccess": {"tenant": "proj-a"}}`)
	add(200, "GET", "/v2.1/flavors/{id}/os-flavor-access", "priv", "", admin, "", "")
	add(404, "GET", "/v2.1/flavors/{id}", "priv", "", bob, "", "")
	add(200, "GET", "/v2.1/flavors/{id}/os-extra_specs", "1", "", alice, "", "")
	add(200, "POST", "/v2.1/flavors/{id}/os-extra_specs", "1", "", admin, "", `{"extra_specs": {"hw:cpu_policy": "dedicated", "mine": 1}}`)
	add(400, "POST", "/v2.1/flavors/{id}/os-extra_specs", "1", "", admin, "", `{"extra_specs": {"hw:cpu_policy": {}}}`)
	add(200, "PUT", "/v2.1/flavors/{id}/os-extra_specs/hw:cpu_policy", "1", "", admin, "", `{"hw:cpu_policy": "shared"}`)
	add(200, "GET", "/v2.1/flavors/{id}/os-extra_specs/hw:cpu_policy", "priv", "", admin, "", "")
	add(200, "DELETE", "/v2.1/flavors/{id}/os-extra_specs/hw:cpu_policy", "priv", "", admin, "", "")
	add(200, "GET", "/v2.1/os-keypairs", "", "", alice, "compute 2.35", "")
	add(201, "POST", "/v2.1/os-keypairs", "", "", alice, "compute 2.10", `{"keypair": {"name": "k2", "public_key": "`+fuzzPublicKey+`"}}`)
	add(400, "POST", "/v2.1/os-keypairs", "", "", alice, "compute 2.10", `{"keypair": {"name": "k2@x", "public_key": "`+fuzzPublicKey+`"}}`)
	add(200, "GET", "/v2.1/os-keypairs/{id}", "k1", "", alice, "compute 2.2", "")
	add(204, "DELETE", "/v2.1/os-keypairs/{id}", "k1", "", alice, "compute 2.10", "")
	add(200, "GET", "/v2.1/servers/{id}/metadata", "@srv", "", alice, "", "")
	add(200, "POST", "/v2.1/servers/{id}/metadata", "@srv", "", alice, "", `{"metadata": {"a": "b"}}`)
	add(200, "PUT", "/v2.1/servers/{id}/metadata", "@srv", "", alice, "", `{"metadata": {"a": "b"}}`)
	add(200, "GET", "/v2.1/servers/{id}/metadata/role", "@srv", "", alice, "", "")
	add(200, "PUT", "/v2.1/servers/{id}/metadata/role", "@srv", "", alice, "", `{"meta": {"role": "db"}}`)
	add(204, "DELETE", "/v2.1/servers/{id}/metadata/role", "@srv", "", alice, "", "")
	add(200, "GET", "/v2.1/servers/{id}/tags", "@srv", "", alice, "compute 2.26", "")
	add(200, "PUT", "/v2.1/servers/{id}/tags", "@srv", "", alice, "compute 2.26", `{"tags": ["a", "b"]}`)
	add(204, "DELETE", "/v2.1/servers/{id}/tags", "@srv", "", alice, "compute 2.26", "")
	add(204, "GET", "/v2.1/servers/{id}/tags/t1", "@srv", "", alice, "compute 2.26", "")
	add(204, "PUT", "/v2.1/servers/{id}/tags/t1", "@srv", "", alice, "compute 2.26", "")
	add(204, "DELETE", "/v2.1/servers/{id}/tags/t1", "@srv", "", alice, "compute 2.26", "")
	add(404, "GET", "/v2.1/servers/{id}/tags", "@srv", "", alice, "compute 2.25", "")
	add(401, "GET", "/v2.1/servers", "", "", "\xff:p", "", "")
	agg := func(name string) string { return `{"aggregate": {"name": "` + name + `", "availability_zone": "az2"}}` }
	add(200, "GET", "/v2", "", "", "", "", "")
	add(200, "GET", "/v2/", "", "", "", "", "")
	add(200, "GET", "/v2/servers", "", "", alice, "compute 2.53", "")
	add(200, "GET", "/v2.1/os-hypervisors/statistics", "", "", admin, "", "")
	add(200, "GET", "/v2.1/os-hypervisors/{id}/uptime", "@node", "", admin, "", "")
	add(200, "GET", "/v2.1/os-hypervisors/{id}/search", "c1", "", admin, "", "")
	add(200, "GET", "/v2.1/os-hypervisors/{id}/servers", "c1", "", admin, "compute 2.52", "")
	add(200, "GET", "/v2.1/os-hypervisors", "", "hypervisor_hostname_pattern=c&with_servers=1", admin, "compute 2.53", "")
	add(400, "GET", "/v2.1/os-hypervisors", "", "hypervisor_hostname_pattern=%25%25", admin, "compute 2.53", "")
	add(200, "GET", "/v2.1/os-availability-zone", "", "", alice, "", "")
	add(200, "GET", "/v2.1/os-availability-zone/detail", "", "", admin, "", "")
	add(200, "GET", "/v2.1/os-aggregates", "", "", admin, "", "")
	add(200, "POST", "/v2.1/os-aggregates", "", "", admin, "compute 2.41", agg("new"))
	add(409, "POST", "/v2.1/os-aggregates", "", "", admin, "", agg("agg1"))
	add(200, "GET", "/v2.1/os-aggregates/{id}", "@agg", "", admin, "compute 2.41", "")
	add(200, "PUT", "/v2.1/os-aggregates/{id}", "@agg", "", admin, "", `{"aggregate": {"name": "renamed"}}`)
	add(400, "DELETE", "/v2.1/os-aggregates/{id}", "@agg", "", admin, "", "")
	add(404, "DELETE", "/v2.1/os-aggregates/{id}", "3000000000", "", admin, "", "")
	add(200, "POST", "/v2.1/os-aggregates/{id}/action", "@agg", "", admin, "", `{"add_host": {"host": "c2"}}`)
	add(200, "POST", "/v2.1/os-aggregates/{id}/action", "@agg", "", admin, "", `{"remove_host": {"host": "c1"}}`)
	add(200, "POST", "/v2.1/os-aggregates/{id}/action", "@agg", "", admin, "", `{"set_metadata": {"metadata": {"ssd": "1", "x": null}}}`)
	add(400, "POST", "/v2.1/os-aggregates/{id}/action", "@agg", "", admin, "", `{"set_metadata": {"metadata": {"k": "\u0000"}}}`)
	add(200, "GET", "/v2.1/os-hosts", "", "zone=az1", admin, "", "")
	add(200, "GET", "/v2.1/os-hosts/{id}", "c1", "", admin, "compute 2.42", "")
	add(404, "GET", "/v2.1/os-hosts/{id}", "c1", "", admin, "compute 2.43", "")
	seeds = append(seeds,
		fuzzSeed{"!FROB", uint8(len(fuzzRoutes)), uint8(len(fuzzIDChoices)), "v2.1/servers", "/x/y", "a=b", alice, "compute latest", "text/plain", []byte("x"), 405},
		fuzzSeed{"PATCH", idx("/v2.1/servers/{id}"), 6, "@srv", "", "", alice, "", "application/json", []byte("{}"), 405},
		fuzzSeed{"GET", idx("/v2.1/os-services"), 0, "", "", "", admin, "legacy:2.53", "", nil, 200})
	return seeds
}

// fuzzPublicKey is an OpenSSH ed25519 public key the seeds import.
const fuzzPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDgsmvGmAXXzeL4AaSSM1m46GFxYjwWzjC5CiKp8Zv5B test@gonova"

// fuzzFixture is a router over one kind of store, in the seeded state.
type fuzzFixture struct {
	name string
	h    http.Handler
	ids  *strings.Replacer
	// reset brings the stores back to the seeded state.
	reset     func(t testing.TB)
	lastReset time.Time
}

func (fx *fuzzFixture) handler() http.Handler { return fx.h }

// expand replaces the @placeholders with this store's ids.
func (fx *fuzzFixture) expand(raw []byte) []byte { return []byte(fx.ids.Replace(string(raw))) }

// after resets the stores when the request may have changed them (a
// write that succeeded: no handler writes and then refuses) and every few
// seconds (so heartbeats stay fresh), so every input starts from the
// seeded state.
func (fx *fuzzFixture) after(t *testing.T, method string, code int) {
	if (method == "GET" || method == "HEAD" || code >= 400) && time.Since(fx.lastReset) < 10*time.Second {
		return
	}
	fx.reset(t)
	fx.lastReset = time.Now()
}

// fuzzIDs are the seeded rows' ids.
type fuzzIDs struct {
	svc, condSvc, apiSvc, node int64
	agg                        int64
	svcUUID, nodeUUID          string
	srv, bobSrv, errSrv        string
}

func (ids fuzzIDs) replacer() *strings.Replacer {
	return strings.NewReplacer(
		"@svcuuid", ids.svcUUID, "@svc", strconv.FormatInt(ids.svc, 10), "@apisvc", strconv.FormatInt(ids.apiSvc, 10),
		"@condsvc", strconv.FormatInt(ids.condSvc, 10),
		"@nodeuuid", ids.nodeUUID, "@node", strconv.FormatInt(ids.node, 10),
		"@srv", ids.srv, "@bobsrv", ids.bobSrv, "@errsrv", ids.errSrv, "@agg", strconv.FormatInt(ids.agg, 10))
}

// seedStores writes the fuzz state: computes c1 (up, with a node and
// servers) and c2 (up, empty), a conductor, an API service, a node whose
// service is gone, alice's active server, bob's building one and alice's
// one in error.
func seedStores(tb testing.TB, services registry.Store, compute computedb.Store) fuzzIDs {
	ctx := context.Background()
	var ids fuzzIDs
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, s := range []registry.NewService{
		{Host: "c1", Binary: registry.BinaryCompute, Topic: "compute"},
		{Host: "c2", Binary: registry.BinaryCompute, Topic: "compute"},
		{Host: "c1", Binary: "nova-conductor", Topic: "conductor"},
		{Host: "api1", Binary: registry.BinaryAPI},
	} {
		svc, err := services.Create(ctx, s)
		must(err)
		if s.Binary != registry.BinaryAPI {
			_, err = services.Report(ctx, svc.ID)
			must(err)
		}
		switch {
		case s.Host == "c1" && s.Binary == registry.BinaryCompute:
			ids.svc, ids.svcUUID = svc.ID, svc.UUID
		case s.Binary == registry.BinaryAPI:
			ids.apiSvc = svc.ID
		case s.Binary == "nova-conductor":
			ids.condSvc = svc.ID
		}
	}
	for _, host := range []string{"c1", "c2", "gone"} {
		n, err := compute.UpsertNode(ctx, computedb.Node{Host: host, HypervisorHostname: host + ".node", HypervisorType: "fake",
			VCPUs: 64, MemoryMB: 1 << 20, LocalGB: 10000, FreeRAMMB: 1 << 20, FreeDiskGB: 10000, CPUInfo: `{"arch": "x86_64"}`})
		must(err)
		if host == "c1" {
			ids.node, ids.nodeUUID = n.ID, n.UUID
		}
	}
	_, err := computedb.CreateDefaultFlavors(ctx, compute)
	must(err)
	_, err = compute.CreateFlavor(ctx, computedb.Flavor{FlavorID: "priv", Name: "private", MemoryMB: 64, VCPUs: 1,
		ExtraSpecs: map[string]string{"hw:cpu_policy": "dedicated"}})
	must(err)
	must(compute.AddFlavorProject(ctx, "priv", "proj-a"))
	_, err = compute.CreateKeyPair(ctx, computedb.KeyPair{Name: "k1", UserID: "alice", Fingerprint: "f", PublicKey: fuzzPublicKey}, -1)
	must(err)
	active, none, errState, now := states.VMActive, states.TaskNone, states.VMError, time.Now()
	in, err := compute.CreateInstance(ctx, computedb.Instance{DisplayName: "web", UserID: "alice", ProjectID: "proj-a",
		Host: "c1", Node: "c1.node", FlavorID: "1", VCPUs: 1, MemoryMB: 512, RootGB: 1, ImageRef: imageID, Metadata: map[string]string{"role": "web"},
		Tags: []string{"t1"}})
	must(err)
	_, err = compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{VMState: &active, TaskState: &none, LaunchedAt: &now})
	must(err)
	ids.srv = in.UUID
	_, err = compute.StartAction(ctx, computedb.Action{InstanceUUID: in.UUID, Action: "create", RequestID: "req-seed", UserID: "alice", ProjectID: "proj-a"})
	must(err)
	_, err = compute.StartEvent(ctx, computedb.EventRecord{InstanceUUID: in.UUID, RequestID: "req-seed", Event: "compute__do_build_and_run_instance", Host: "c1"})
	must(err)
	in, err = compute.CreateInstance(ctx, computedb.Instance{DisplayName: "db", UserID: "bob", ProjectID: "proj-b", FlavorID: "1", ImageRef: imageID, TaskState: states.TaskScheduling})
	must(err)
	ids.bobSrv = in.UUID
	in, err = compute.CreateInstance(ctx, computedb.Instance{DisplayName: "broken", UserID: "alice", ProjectID: "proj-a", Host: "c2", FlavorID: "2", ImageRef: imageID})
	must(err)
	_, err = compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{VMState: &errState, TaskState: &none,
		Fault: &computedb.Fault{Code: 500, Message: "No valid host was found. "}})
	must(err)
	ids.errSrv = in.UUID
	a, err := compute.CreateAggregate(ctx, "agg1", map[string]string{computedb.MetadataAvailabilityZone: "az1"})
	must(err)
	_, err = compute.AddAggregateHost(ctx, a.ID, "c1")
	must(err)
	ids.agg = a.ID
	_, err = compute.CreateServerGroup(ctx, computedb.ServerGroup{UUID: fuzzGroup, Name: "g", ProjectID: "proj-a", UserID: "alice",
		Policy: computedb.PolicyAntiAffinity}, nil)
	must(err)
	return ids
}

// fuzzGroup is the fixture's server group (of proj-a).
const fuzzGroup = "5b0f5c5e-4c2a-4f0b-8a7e-2c4d8f1e9a01"

// fuzzRouterOn is the router as served (bodies capped), over the stores.
func fuzzRouterOn(tb testing.TB, services registry.Store, compute computedb.Store) http.Handler {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	capi, err := computeapi.New(computeapi.Options{Services: services, Compute: compute, RPC: &fakeCompute{console: "boot ok\n"},
		Logger: quiet, RPCTimeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := NewRouter(Deps{Services: services, Compute: compute, ComputeAPI: capi, Auth: auth.NoAuth{}, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	return middleware.MaxRequestBody(wsgi.DefaultMaxRequestBodySize)(h)
}

// newMemFixture rebuilds the in-memory stores and the router to reset.
func newMemFixture(tb testing.TB) *fuzzFixture {
	fx := &fuzzFixture{name: "mem"}
	fx.reset = func(tb testing.TB) {
		services, compute := memstore.New(nil), computedb.NewMem()
		ids := seedStores(tb, services, compute)
		fx.h, fx.ids = fuzzRouterOn(tb, services, compute), ids.replacer()
	}
	fx.reset(tb)
	fx.lastReset = time.Now()
	return fx
}

// newPGFixture seeds one database for the run (pgtest: the target is
// skipped without Postgres, and fails in CI) and keeps a copy of the
// seeded tables; a reset restores them in one round trip.
func newPGFixture(tb testing.TB) *fuzzFixture {
	// The run writes and resets a lot; it need not wait for each commit
	// to reach the disk.
	dbURL := pgtest.NewDatabase(tb)
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	pool := pgtest.OpenPool(tb, dbURL+sep+"synchronous_commit=off")
	services, compute := pgstore.New(pool), computedb.NewPG(pool)
	ids := seedStores(tb, services, compute)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE fuzz_seed_services AS SELECT * FROM services;
		CREATE TABLE fuzz_seed_compute_nodes AS SELECT * FROM compute_nodes;
		CREATE TABLE fuzz_seed_instances AS SELECT * FROM instances;
		CREATE TABLE fuzz_seed_aggregates AS SELECT * FROM aggregates;
		CREATE TABLE fuzz_seed_aggregate_hosts AS SELECT * FROM aggregate_hosts;
		CREATE TABLE fuzz_seed_aggregate_metadata AS SELECT * FROM aggregate_metadata;
		CREATE TABLE fuzz_seed_instance_actions AS SELECT * FROM instance_actions;
		CREATE TABLE fuzz_seed_instance_actions_events AS SELECT * FROM instance_actions_events;

		CREATE TABLE fuzz_seed_flavors AS SELECT * FROM flavors;
		CREATE TABLE fuzz_seed_flavor_extra_specs AS SELECT * FROM flavor_extra_specs;
		CREATE TABLE fuzz_seed_flavor_projects AS SELECT * FROM flavor_projects;
		CREATE TABLE fuzz_seed_key_pairs AS SELECT * FROM key_pairs`); err != nil {
		tb.Fatal(err)
	}
	fx := &fuzzFixture{name: "pg", h: fuzzRouterOn(tb, services, compute), ids: ids.replacer(), lastReset: time.Now()}
	fx.reset = func(tb testing.TB) { resetPG(tb, pool) }
	return fx
}

func resetPG(tb testing.TB, pool *pgxpool.Pool) {
	_, err := pool.Exec(context.Background(), `BEGIN;
		DELETE FROM instances; INSERT INTO instances SELECT * FROM fuzz_seed_instances;
		DELETE FROM instance_actions; INSERT INTO instance_actions SELECT * FROM fuzz_seed_instance_actions;
		INSERT INTO instance_actions_events SELECT * FROM fuzz_seed_instance_actions_events;
		DELETE FROM compute_nodes; INSERT INTO compute_nodes SELECT * FROM fuzz_seed_compute_nodes;
		DELETE FROM services; INSERT INTO services SELECT * FROM fuzz_seed_services;
		DELETE FROM aggregates; INSERT INTO aggregates SELECT * FROM fuzz_seed_aggregates;
		INSERT INTO aggregate_hosts SELECT * FROM fuzz_seed_aggregate_hosts;
		INSERT INTO aggregate_metadata SELECT * FROM fuzz_seed_aggregate_metadata;
		DELETE FROM flavors; INSERT INTO flavors SELECT * FROM fuzz_seed_flavors;
		INSERT INTO flavor_extra_specs SELECT * FROM fuzz_seed_flavor_extra_specs;
		INSERT INTO flavor_projects SELECT * FROM fuzz_seed_flavor_projects;
		DELETE FROM key_pairs; INSERT INTO key_pairs SELECT * FROM fuzz_seed_key_pairs;
		UPDATE services SET last_seen_up = now() WHERE last_seen_up IS NOT NULL;
		COMMIT`)
	if err != nil {
		tb.Fatal(err)
	}
}
