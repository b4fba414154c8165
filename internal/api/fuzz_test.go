package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// FuzzRequestBodies sends arbitrary bytes as the body of the server create,
// service update (both forms) and server action requests. Whatever the
// input, the answer must be a success or a 4xx with nova's error body:
// never a 500, never a panic.
//
//	go test -run '^$' -fuzz FuzzRequestBodies ./internal/api/
func FuzzRequestBodies(f *testing.F) {
	seeds := []string{
		`{"server": {"name": "vm", "flavorRef": "1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b"}}`,
		`{"server": {"name": "vm", "flavorRef": 1, "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "metadata": {"a": "b"}, "networks": "auto"}}`,
		`{"server": {"name": " ", "flavorRef": "", "imageRef": ""}}`,
		`{"server": {"name": "vm", "flavorRef": "http://x/flavors/2", "imageRef": 5, "metadata": {"a/b": 1}}}`,
		`{"host": "c1", "binary": "nova-compute", "disabled_reason": "x", "forced_down": "yes"}`,
		`{"status": "disabled", "disabled_reason": "r", "forced_down": true}`,
		`{"status": "enabled", "disabled_reason": "r"}`,
		`{"reboot": {"type": "HARD"}}`,
		`{"reboot": {"type": 1}}`,
		`{"os-getConsoleOutput": {"length": "-1"}}`,
		`{"os-getConsoleOutput": {"length": 1e309}}`,
		`{"os-getConsoleOutput": {"length": 99999999999999999999999}}`,
		`{"os-getConsoleOutput": null}`,
		`{}`, `[]`, `null`, `""`, `1`, ``, `{"a":`, "\x00", `{"server": {"name": "\u0000"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	services := memstore.New(nil)
	compute := computedb.NewMem()
	svc, err := services.Create(ctx, registry.NewService{Host: "c1", Binary: registry.BinaryCompute, Topic: "compute"})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := services.Report(ctx, svc.ID); err != nil {
		f.Fatal(err)
	}
	if _, err := compute.UpsertNode(ctx, computedb.Node{Host: "c1", HypervisorHostname: "c1", VCPUs: 1 << 20, MemoryMB: 1 << 40, LocalGB: 1 << 40}); err != nil {
		f.Fatal(err)
	}
	inst, err := compute.CreateInstance(ctx, computedb.Instance{ProjectID: "admin", Host: "c1", VMState: states.VMActive})
	if err != nil {
		f.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	capi, err := computeapi.New(computeapi.Options{Services: services, Compute: compute, RPC: &fakeCompute{}, Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewRouter(Deps{Services: services, Compute: compute, ComputeAPI: capi, Auth: auth.NoAuth{}, Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	targets := []struct{ method, path, version string }{
		{"POST", "/v2.1/servers", "2.1"},
		{"POST", "/v2.1/servers", "2.53"},
		{"PUT", "/v2.1/os-services/disable-log-reason", "2.11"},
		{"PUT", "/v2.1/os-services/" + svc.UUID, "2.53"},
		{"POST", "/v2.1/servers/" + inst.UUID + "/action", "2.1"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, tg := range targets {
			req := httptest.NewRequest(tg.method, tg.path, bytes.NewReader(body))
			req.Header.Set("X-Auth-Token", admin)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("OpenStack-API-Version", "compute "+tg.version)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, w.Code, w.Body.Bytes())
			}
			if w.Code >= 400 {
				b, err := fault.Parse(w.Body.Bytes())
				if err != nil || b.Code != w.Code || b.Message == "" {
					t.Fatalf("%s %s %q: bad fault body %q (%v)", tg.method, tg.path, body, w.Body.Bytes(), err)
				}
			}
			if w.Code == 202 && tg.path == "/v2.1/servers" {
				// keep the store small: each input starts from the same state
				var created struct{ Server struct{ ID string } }
				if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil {
					t.Fatalf("create answer %q: %v", w.Body.Bytes(), err)
				}
				if err := compute.DeleteInstance(ctx, created.Server.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
