package auth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// The middleware authenticates the routes behind it; handlers read the
// caller with FromContext.
func Example() {
	list := func(w http.ResponseWriter, r *http.Request) {
		caller, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "user=%s project=%s admin=%t", caller.UserID, caller.ProjectID, caller.IsAdmin)
	}
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware(auth.NoAuth{})) // auth_strategy = noauth2
		r.Get("/v2.1/os-services", list)
	})

	for _, token := range []string{"admin:admin", "alice:demo", ""} {
		req := httptest.NewRequest("GET", "/v2.1/os-services", nil)
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 user=admin project=admin admin=true
	// 200 user=alice project=demo admin=false
	// 401 {"unauthorized":{"code":401,"message":"The request you have made requires authentication."}}
}
