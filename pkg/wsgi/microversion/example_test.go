package microversion_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// The Negotiator's Handler reads the requested version; handlers branch on
// it with FromContext.
func Example() {
	mv, err := microversion.New(microversion.Options{}) // 2.1 to DefaultMax
	if err != nil {
		fmt.Println(err)
		return
	}
	show := func(w http.ResponseWriter, r *http.Request) {
		if microversion.FromContext(r.Context()).AtLeast(2, 53) {
			fmt.Fprint(w, "ids are uuids")
			return
		}
		fmt.Fprint(w, "ids are integers")
	}
	h := mv.Handler(http.HandlerFunc(show))

	for _, asked := range []string{"", "compute 2.53", "compute latest", "compute 2.99"} {
		req := httptest.NewRequest("GET", "/v2.1/os-services", nil)
		if asked != "" {
			req.Header.Set("OpenStack-API-Version", asked)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Printf("%q: %d %q %s\n", asked, w.Code, w.Header().Get("OpenStack-API-Version"), w.Body.String())
	}
	// Output:
	// "": 200 "compute 2.1" ids are integers
	// "compute 2.53": 200 "compute 2.53" ids are uuids
	// "compute latest": 200 "compute 2.93" ids are uuids
	// "compute 2.99": 406 "compute 2.99" {"computeFault":{"code":406,"message":"Version 2.99 is not supported by the API. Minimum is 2.1 and maximum is 2.93."}}
}
