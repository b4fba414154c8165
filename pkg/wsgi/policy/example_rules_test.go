package policy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// A route requires its action with Require; a handler that needs its target
// first asks Authorize. An action without a rule is refused.
func ExampleNew() {
	enf := policy.New(map[string]policy.Rule{
		"os_compute_api:os-services:list":   policy.Admin,
		"os_compute_api:os-services:delete": policy.Admin,
	})
	list := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"services": []}`) }
	del := func(w http.ResponseWriter, r *http.Request) {
		// ... look the service up first, then:
		if err := enf.Authorize(r.Context(), "os_compute_api:os-services:delete"); err != nil {
			fault.Write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	r := chi.NewRouter()
	r.Use(auth.Middleware(auth.NoAuth{}))
	r.With(enf.Require("os_compute_api:os-services:list")).Get("/os-services", list)
	r.Delete("/os-services/{id}", del)

	for _, c := range []struct{ method, token string }{
		{"GET", "admin:admin"}, {"GET", "alice:demo"}, {"DELETE", "admin:admin"}, {"DELETE", "alice:demo"},
	} {
		path := "/os-services"
		if c.method == "DELETE" {
			path += "/1"
		}
		req := httptest.NewRequest(c.method, path, nil)
		req.Header.Set("X-Auth-Token", c.token)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(c.method, " ", c.token, " ", w.Code, " ", w.Body.String())))
	}
	// Output:
	// GET admin:admin 200 {"services": []}
	// GET alice:demo 403 {"forbidden":{"code":403,"message":"Policy doesn't allow os_compute_api:os-services:list to be performed."}}
	// DELETE admin:admin 204
	// DELETE alice:demo 403 {"forbidden":{"code":403,"message":"Policy doesn't allow os_compute_api:os-services:delete to be performed."}}
}
