package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkServerRoutes is the cost of a request through the router on the
// in-memory stores, policy included: GET /servers/{id} (the caller's own
// server: show, then os-extended-server-attributes and host_status on the
// instance), /servers/detail over 50 servers and GET /os-services as the
// admin. The policy's share is a few µs per request (pkg/wsgi/policy's
// BenchmarkAuthorize: about 1.5 µs a decision).
func BenchmarkServerRoutes(b *testing.B) {
	e := newEnv(b, memBackend)
	e.addNode("c1", 1000, 1<<30, 1<<20)
	if r := e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"instances": -1}}); r.Code != 200 {
		b.Fatalf("quota: %d %s", r.Code, r.Raw)
	}
	var id string
	for i := range 50 {
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm-"+strconv.Itoa(i), "1"))
		if r.Code != 202 {
			b.Fatalf("boot: %d %s", r.Code, r.Raw)
		}
		var body struct{ Server struct{ ID string } }
		if err := json.Unmarshal(r.Raw, &body); err != nil {
			b.Fatal(err)
		}
		id = body.Server.ID
	}
	for _, c := range []struct{ name, path, token string }{
		{"show", "/v2.1/servers/" + id, alice},
		{"detail_50", "/v2.1/servers/detail", alice},
		{"os-services", "/v2.1/os-services", admin},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", c.path, nil)
			req.Header.Set("X-Auth-Token", c.token)
			req.Header.Set("OpenStack-API-Version", "compute 2.53")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				e.handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, w.Code, w.Body)
				}
			}
		})
	}
}
