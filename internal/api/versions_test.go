package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// GET / is nova's list (no microversion headers); /v2 and /v2/ the v2.0
// document of the legacy v2 compatible API; /v2.1 the v2.1 document with
// the headers.
func TestVersionDocuments(t *testing.T) {
	e := newEnv(t, memBackend)
	r := e.do("GET", "/", "", "2.10", nil)
	r.want(t, 200)
	if r.Header.Get(microversion.HeaderAPIVersion) != "" || r.Header.Get("Vary") != "" {
		t.Errorf("GET / has version headers %v", r.Header)
	}
	v20 := obj(t, list(t, r.Body["versions"])[0])
	if v20["id"] != "v2.0" || v20["status"] != "SUPPORTED" || v20["version"] != "" || v20["min_version"] != "" ||
		v20["updated"] != "2011-01-21T11:33:21Z" || obj(t, list(t, v20["links"])[0])["href"] != "http://example.com/v2/" {
		t.Errorf("v2.0 entry %v", v20)
	}
	for _, p := range []string{"/v2", "/v2/"} {
		r = e.do("GET", p, "", "2.10", nil)
		r.want(t, 200)
		doc := obj(t, r.Body["version"])
		links := list(t, doc["links"])
		mt := obj(t, list(t, doc["media-types"])[0])
		if doc["id"] != "v2.0" || len(links) != 2 || obj(t, links[0])["href"] != "http://example.com/v2/" ||
			mt["type"] != "application/vnd.openstack.compute+json;version=2" {
			t.Errorf("%s: %s", p, r.Raw)
		}
		if r.Header.Get(microversion.HeaderAPIVersion) != "" || r.Header.Get(microversion.HeaderLegacyAPIVersion) != "" {
			t.Errorf("%s: version headers %v", p, r.Header)
		}
	}
	r = e.do("GET", "/v2.1/", "", "2.10", nil)
	r.want(t, 200)
	if r.Header.Get(microversion.HeaderAPIVersion) != "compute 2.10" || r.Header.Get(microversion.HeaderLegacyAPIVersion) != "2.10" ||
		!strings.Contains(r.Header.Get("Vary"), microversion.HeaderAPIVersion) {
		t.Errorf("/v2.1/ headers %v", r.Header)
	}
	e.do("GET", "/v2.1/", "", "2.99", nil).wantFault(t, 406, "Version 2.99 is not supported by the API. Minimum is 2.1 and maximum is "+microversion.DefaultMax.String()+".")
}

// Every response of the v2.1 API carries the version headers, faults
// included.
func TestVersionHeadersOnFaults(t *testing.T) {
	e := newEnv(t, memBackend, maxNova)
	for _, c := range []struct {
		method, path, token, version string
		code                         int
	}{
		{"GET", "/v2.1/os-aggregates/x", admin, "2.5", 400},
		{"GET", "/v2.1/os-aggregates/9", admin, "2.5", 404},
		{"GET", "/v2.1/os-aggregates", alice, "2.5", 403},
		{"POST", "/v2.1/os-aggregates", admin, "2.5", 400},
		{"GET", "/v2.1/os-hypervisors/statistics", admin, "2.88", 404},
		{"GET", "/v2.1/os-hosts", admin, "2.43", 404},
	} {
		r := e.do(c.method, c.path, c.token, c.version, map[string]any{})
		r.want(t, c.code)
		if r.Header.Get(microversion.HeaderAPIVersion) != "compute "+c.version || r.Header.Get("Vary") == "" {
			t.Errorf("%s %s: headers %v", c.method, c.path, r.Header)
		}
	}
}

// /v2/<path> is the v2.1 API at 2.1 whatever the request asks, without
// version headers, as nova's LegacyV2CompatibleWrapper.
func TestLegacyV2API(t *testing.T) {
	e := newEnv(t, memBackend)
	e.addNode("c1", 4, 4096, 40)
	r := e.do("GET", "/v2/os-services", admin, "2.53", nil)
	r.want(t, 200)
	svc := obj(t, list(t, r.Body["services"])[0])
	if _, ok := svc["forced_down"]; ok {
		t.Errorf("legacy v2 served a microversion: %v", svc)
	}
	if _, isNum := svc["id"].(float64); !isNum {
		t.Errorf("legacy v2 id %v: want the 2.1 integer", svc["id"])
	}
	if r.Header.Get(microversion.HeaderAPIVersion) != "" || r.Header.Get(microversion.HeaderLegacyAPIVersion) != "" || r.Header.Get("Vary") != "" {
		t.Errorf("legacy v2 headers %v", r.Header)
	}
	e.do("GET", "/v2/os-aggregates/1", admin, "", nil).wantFault(t, 404, "Aggregate 1 could not be found.")
	e.do("GET", "/v2/servers", alice, "", nil).want(t, 200)
	e.do("GET", "/v2/servers", "", "", nil).wantFault(t, 401, "")

	// The wrapper keeps a Vary of another header.
	h := legacyV2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2.1/x" || r.Header.Get(microversion.HeaderAPIVersion) != "" {
			t.Errorf("rewritten to %s with %v", r.URL.Path, r.Header)
		}
		w.Header().Add("Vary", microversion.VaryValue+", Accept")
		w.Header().Set(microversion.HeaderAPIVersion, "compute 2.1")
		w.WriteHeader(204)
	}))
	req := httptest.NewRequest("GET", "/v2/x", nil).WithContext(context.Background())
	req.Header.Set(microversion.HeaderAPIVersion, "compute 2.9")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 204 || w.Header().Get("Vary") != "Accept" || w.Header().Get(microversion.HeaderAPIVersion) != "" {
		t.Errorf("wrapped: %d %v", w.Code, w.Header())
	}
}

// maxNova serves every microversion nova 26 has, as the routes implement
// them up to it.
func maxNova(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.NovaMax }
