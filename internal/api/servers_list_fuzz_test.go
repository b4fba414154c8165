package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// FuzzServerListQuery sends arbitrary query strings to GET /servers and
// /servers/detail, as an admin and as a member, at a microversion from 2.1
// to 2.75: the answer is a 200 or a 4xx with nova's error body, never a
// 500 or a panic (a regex the store could not run would be one).
//
//	go test -run '^$' -fuzz FuzzServerListQuery ./internal/api/
func FuzzServerListQuery(f *testing.F) {
	for _, s := range []string{"name=flt-a", "name=(", "name=%5B%5Cw-%5D%2B", "status=ACTIVE&status=reboot",
		"sort_key=display_name&sort_dir=asc&sort_key=id", "changes-since=2020-01-01T00:00:00%2B02:00&changes-before=2020",
		"all_tenants&host=c1&node=x&deleted=1&soft_deleted=", "tags=a,b&not-tags-any=", "locked=t", "ip=10.%5C.&ip6=(",
		"limit=0&marker=x", "foo=1&_x=2", "name=(%3Fi)%C3%A9", "name=a%7B256%7D", "name=%5Cb%5CB%5CA%5CZ$",
		"sort_key=host&sort_dir=desc&sort_key=task_state&all_tenants=1&marker="} {
		f.Add(s, true, uint8(1))
		f.Add(s, false, uint8(75))
	}
	ctx := context.Background()
	services := memstore.New(nil)
	compute := computedb.NewMem()
	for _, p := range []string{"admin", "proj-a"} {
		if _, err := compute.CreateInstance(ctx, computedb.Instance{DisplayName: "vm-" + p, ProjectID: p, Host: "c1", VMState: states.VMActive}); err != nil {
			f.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	capi, err := computeapi.New(computeapi.Options{Services: services, Compute: compute, RPC: &fakeCompute{}, Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewRouter(Deps{Services: services, Compute: compute, ComputeAPI: capi, Auth: auth.NoAuth{}, Logger: quiet,
		MaxMicroversion: microversion.MustParse("2.75")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string, asAdmin bool, minor uint8) {
		token := alice
		if asAdmin {
			token = admin
		}
		version := "2." + strconv.Itoa(int(minor%75)+1)
		for _, path := range []string{"/v2.1/servers", "/v2.1/servers/detail"} {
			req := httptest.NewRequest("GET", path, nil)
			req.URL.RawQuery = query
			req.Header.Set("X-Auth-Token", token)
			req.Header.Set("OpenStack-API-Version", "compute "+version)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s?%s (%s): %d %s", path, query, version, w.Code, w.Body.Bytes())
			}
			if w.Code >= 400 {
				b, err := fault.Parse(w.Body.Bytes())
				if err != nil || b.Code != w.Code || b.Message == "" {
					t.Fatalf("%s?%s: bad fault body %q (%v)", path, query, w.Body.Bytes(), err)
				}
			}
		}
	})
}
