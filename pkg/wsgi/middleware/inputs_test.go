package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

func TestInputsRefusesWhatNoStoreCanTake(t *testing.T) {
	reached := 0
	h := Inputs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }))
	cases := []struct {
		target string
		want   int
		msg    string
	}{
		{"/v2.1/os-services?host=h1", http.StatusOK, ""},
		{"/v2.1/servers?name=%C3%A9t%C3%A9", http.StatusOK, ""},
		{"/v2.1/servers/%E2%82%AC", http.StatusOK, ""},
		{"/v2.1/os-services?host=%ff", http.StatusBadRequest, "query parameter host: the value is not valid UTF-8"},
		{"/v2.1/os-services?host=%00", http.StatusBadRequest, "query parameter host: the value contains a NUL"},
		{"/v2.1/os-services?%ff=1", http.StatusBadRequest, "query parameter name"},
		{"/v2.1/os-services?host=%zz", http.StatusBadRequest, "does not parse"},
		{"/v2.1/os-services?host=a;binary=b", http.StatusBadRequest, "does not parse"},
		{"/v2.1/servers/%ff", http.StatusBadRequest, "path is not valid UTF-8"},
		{"/v2.1/servers/a%00b", http.StatusBadRequest, "path contains a control character"},
		{"/v2.1/servers/a%0Ab", http.StatusBadRequest, "path contains a control character"},
	}
	for _, c := range cases {
		reached = 0
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, c.target, nil))
		if rr.Code != c.want {
			t.Errorf("%s: %d, want %d", c.target, rr.Code, c.want)
			continue
		}
		if c.want == http.StatusOK {
			if reached != 1 {
				t.Errorf("%s: the handler was not reached", c.target)
			}
			continue
		}
		b, err := fault.Parse(rr.Body.Bytes())
		if err != nil || b.Name != "badRequest" || !strings.Contains(b.Message, c.msg) {
			t.Errorf("%s: body %s (%v), want badRequest saying %q", c.target, rr.Body, err, c.msg)
		}
		if reached != 0 {
			t.Errorf("%s: a refused request reached the handler", c.target)
		}
	}
}
