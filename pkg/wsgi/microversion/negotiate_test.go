package microversion

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

func TestNegotiate(t *testing.T) {
	n, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Min() != Min || n.Max() != DefaultMax {
		t.Fatalf("defaults = %v..%v", n.Min(), n.Max())
	}
	cases := []struct {
		name    string
		headers map[string][]string
		want    Version
		code    int
	}{
		{"none", nil, Version{2, 1}, 0},
		{"standard", map[string][]string{"OpenStack-API-Version": {"compute 2.11"}}, Version{2, 11}, 0},
		{"case of service", map[string][]string{"OpenStack-API-Version": {"COMPUTE 2.11"}}, Version{2, 11}, 0},
		{"legacy", map[string][]string{"X-OpenStack-Nova-API-Version": {"2.25"}}, Version{2, 25}, 0},
		{"standard wins", map[string][]string{"OpenStack-API-Version": {"compute 2.3"}, "X-OpenStack-Nova-API-Version": {"2.25"}}, Version{2, 3}, 0},
		{"other service only falls back to legacy", map[string][]string{"OpenStack-API-Version": {"placement 1.10"}, "X-OpenStack-Nova-API-Version": {"2.4"}}, Version{2, 4}, 0},
		{"other service only", map[string][]string{"OpenStack-API-Version": {"placement 1.10"}}, Version{2, 1}, 0},
		{"list, last compute wins", map[string][]string{"OpenStack-API-Version": {"compute 2.2, placement 1.1, compute 2.7"}}, Version{2, 7}, 0},
		{"repeated header lines", map[string][]string{"OpenStack-API-Version": {"compute 2.2", "compute 2.8"}}, Version{2, 8}, 0},
		{"legacy list, last wins", map[string][]string{"X-OpenStack-Nova-API-Version": {"2.2, 2.9"}}, Version{2, 9}, 0},
		{"latest", map[string][]string{"OpenStack-API-Version": {"compute latest"}}, DefaultMax, 0},
		{"legacy latest", map[string][]string{"X-OpenStack-Nova-API-Version": {"latest"}}, DefaultMax, 0},
		{"max", map[string][]string{"OpenStack-API-Version": {"compute 2.53"}}, Version{2, 53}, 0},
		{"above max", map[string][]string{"OpenStack-API-Version": {"compute 2.94"}}, Version{2, 94}, 406},
		{"below min", map[string][]string{"OpenStack-API-Version": {"compute 2.0"}}, Version{2, 0}, 406},
		{"v1", map[string][]string{"X-OpenStack-Nova-API-Version": {"1.1"}}, Version{1, 1}, 406},
		{"malformed", map[string][]string{"OpenStack-API-Version": {"compute 2.x"}}, Version{}, 400},
		{"leading zero", map[string][]string{"OpenStack-API-Version": {"compute 2.01"}}, Version{}, 400},
		{"trailing words", map[string][]string{"OpenStack-API-Version": {"compute 2.1 beta"}}, Version{}, 400},
		{"Latest is not latest", map[string][]string{"OpenStack-API-Version": {"compute Latest"}}, Version{}, 400},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, vs := range c.headers {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		v, err := n.Negotiate(h)
		if v != c.want {
			t.Errorf("%s: version = %v, want %v", c.name, v, c.want)
		}
		code := 0
		if err != nil {
			fe, _ := fault.From(err)
			code = fe.Code
		}
		if code != c.code {
			t.Errorf("%s: code = %d (%v), want %d", c.name, code, err, c.code)
		}
	}
}

func TestNewRejectsInvertedRange(t *testing.T) {
	if _, err := New(Options{Min: MustParse("2.10"), Max: MustParse("2.9")}); err == nil {
		t.Fatal("max below min accepted")
	}
	n, err := New(Options{Max: MustParse("2.90")})
	if err != nil || n.Max() != (Version{2, 90}) {
		t.Fatalf("configurable max: %v %v", n, err)
	}
}

func serve(t *testing.T, n *Negotiator, next http.Handler, hdr, val string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/v2.1/os-services", nil)
	if hdr != "" {
		r.Header.Set(hdr, val)
	}
	w := httptest.NewRecorder()
	n.Handler(next).ServeHTTP(w, r)
	return w
}

func TestHandlerHeadersOnSuccessAndFaults(t *testing.T) {
	n, _ := New(Options{})
	var seen Version
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = FromContext(r.Context())
		w.WriteHeader(http.StatusOK)
	})
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault.Write(w, r, fault.Forbidden("Policy doesn't allow x to be performed."))
	})

	for _, next := range []http.Handler{ok, failing} {
		w := serve(t, n, next, "OpenStack-API-Version", "compute 2.11")
		if got := w.Header().Get("OpenStack-API-Version"); got != "compute 2.11" {
			t.Errorf("OpenStack-API-Version = %q", got)
		}
		if got := w.Header().Get("X-OpenStack-Nova-API-Version"); got != "2.11" {
			t.Errorf("X-OpenStack-Nova-API-Version = %q", got)
		}
		if got := w.Header().Get("Vary"); got != "OpenStack-API-Version, X-OpenStack-Nova-API-Version" {
			t.Errorf("Vary = %q", got)
		}
	}
	if seen != (Version{2, 11}) {
		t.Errorf("handler saw %v", seen)
	}

	w := serve(t, n, ok, "", "")
	if w.Header().Get("OpenStack-API-Version") != "compute 2.1" {
		t.Errorf("default version header = %q", w.Header().Get("OpenStack-API-Version"))
	}
}

func TestHandler406And400(t *testing.T) {
	n, _ := New(Options{})
	called := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })

	w := serve(t, n, next, "OpenStack-API-Version", "compute 2.999")
	b, err := fault.Parse(w.Body.Bytes())
	if w.Code != 406 || err != nil || b.Name != "computeFault" ||
		b.Message != "Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is 2.93." {
		t.Errorf("406: %d %+v %v", w.Code, b, err)
	}
	if w.Header().Get("OpenStack-API-Version") != "compute 2.999" || w.Header().Get("Vary") == "" {
		t.Errorf("406 headers: %v", w.Header())
	}

	w = serve(t, n, next, "X-OpenStack-Nova-API-Version", "two")
	b, err = fault.Parse(w.Body.Bytes())
	if w.Code != 400 || err != nil || b.Name != "badRequest" ||
		b.Message != "API Version String two is of invalid format. Must be of format MajorNum.MinorNum." {
		t.Errorf("400: %d %+v %v", w.Code, b, err)
	}
	if w.Header().Get("OpenStack-API-Version") != "" || w.Header().Get("Vary") == "" {
		t.Errorf("400 headers: %v", w.Header())
	}
	if called {
		t.Error("handler ran after a failed negotiation")
	}
}

// A Negotiator raised to nova's maximum serves every version up to it,
// "latest" included, and refuses the one above.
func TestNegotiateUpToNovaMax(t *testing.T) {
	n, err := New(Options{Max: NovaMax})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  string
		want Version
		code int
	}{{"compute 2.92", Version{2, 92}, 0}, {"compute 2.93", Version{2, 93}, 0}, {"compute latest", Version{2, 93}, 0}, {"compute 2.94", Version{2, 94}, 406}} {
		v, err := n.Negotiate(http.Header{"Openstack-Api-Version": {c.req}})
		code := 0
		if fe, ok := fault.From(err); ok {
			code = fe.Code
		}
		if v != c.want || code != c.code {
			t.Errorf("%s: %v %d (%v), want %v %d", c.req, v, code, err, c.want, c.code)
		}
	}
	if NovaMax.Compare(DefaultMax) < 0 {
		t.Fatalf("DefaultMax %v above NovaMax %v", DefaultMax, NovaMax)
	}
}
