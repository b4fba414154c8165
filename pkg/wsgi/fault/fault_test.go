package fault

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestName(t *testing.T) {
	// nova/api/openstack/wsgi.py Fault._fault_names, plus the computeFault default.
	want := map[int]string{
		400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
		405: "badMethod", 406: "computeFault", 409: "conflictingRequest", 413: "overLimit",
		415: "badMediaType", 429: "overLimit", 500: "computeFault", 501: "notImplemented",
		502: "computeFault", 503: "serviceUnavailable",
	}
	for code, name := range want {
		if got := Name(code); got != name {
			t.Errorf("Name(%d) = %q, want %q", code, got, name)
		}
	}
}

func TestWriteFault(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x", nil)
	w.Header().Set("X-Openstack-Request-Id", "req-1")
	Write(w, r, fmt.Errorf("lookup: %w", Newf(404, "Service %s not found.", "abc")))
	if w.Code != 404 {
		t.Fatalf("code = %d", w.Code)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json; charset=UTF-8" {
		t.Errorf("content type %q", got)
	}
	if w.Header().Get("X-Openstack-Request-Id") != "req-1" {
		t.Error("headers set before Write were lost")
	}
	if got, want := w.Body.String(), `{"itemNotFound":{"code":404,"message":"Service abc not found."}}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	b, err := Parse(w.Body.Bytes())
	if err != nil || b.Name != "itemNotFound" || b.Code != 404 {
		t.Errorf("Parse = %+v, %v", b, err)
	}
}

func TestWriteUnexpectedHidesText(t *testing.T) {
	var logs bytes.Buffer
	l := slog.New(slog.NewTextHandler(&logs, nil))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x", nil)
	r = r.WithContext(WithLogger(r.Context(), l))
	Write(w, r, errors.New("pq: password authentication failed for user nova"))
	if w.Code != 500 {
		t.Fatalf("code = %d", w.Code)
	}
	if strings.Contains(w.Body.String(), "password") {
		t.Fatalf("internal error text leaked: %s", w.Body.String())
	}
	b, err := Parse(w.Body.Bytes())
	if err != nil || b.Name != "computeFault" || b.Message != GenericMessage {
		t.Errorf("Parse = %+v, %v", b, err)
	}
	if !strings.Contains(logs.String(), "password authentication failed") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("unexpected error not logged at ERROR: %s", logs.String())
	}
}

func TestRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, &Error{Code: 429, Message: "slow down", RetryAfter: "5"})
	if w.Header().Get("Retry-After") != "5" {
		t.Error("no Retry-After header")
	}
	if got, want := w.Body.String(), `{"overLimit":{"code":429,"message":"slow down","retryAfter":"5"}}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	// RetryAfter is ignored on codes nova does not give it to.
	w = httptest.NewRecorder()
	WriteError(w, &Error{Code: 400, Message: "m", RetryAfter: "5"})
	if w.Header().Get("Retry-After") != "" || strings.Contains(w.Body.String(), "retryAfter") {
		t.Errorf("retryAfter on a 400: %v %s", w.Header(), w.Body)
	}
}

func TestFromBadCode(t *testing.T) {
	fe, ok := From(New(http.StatusOK, "odd"))
	if !ok || fe.Code != 500 || fe.Message != "odd" {
		t.Errorf("From(200) = %+v %v", fe, ok)
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Code: 409, Message: "busy", Err: errors.New("cause")}
	if got := e.Error(); got != "409 conflictingRequest: busy: cause" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, e.Err) {
		t.Error("Unwrap does not reach the cause")
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{`[]`, `{}`, `{"a":{"code":1},"b":{"code":2}}`, `{"a":{"message":"x"}}`, `{"a":1}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) succeeded", in)
		}
	}
}

type downErr struct{}

func (downErr) Error() string            { return "db: connection refused" }
func (downErr) ServiceUnavailable() bool { return true }

// A backend that is down is a 503 with nova's body, never a 500, and the
// outage is logged once, not per request.
func TestUnavailableIs503AndLoggedOncePerOutage(t *testing.T) {
	var logs bytes.Buffer
	l := slog.New(slog.NewTextHandler(&logs, nil))
	now := time.Unix(1000, 0)
	saved := outages
	outages = &outageLog{now: func() time.Time { return now }}
	defer func() { outages = saved }()
	for i := 0; i < 5; i++ {
		rr := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/v2.1/servers", nil)
		Write(rr, r.WithContext(WithLogger(r.Context(), l)), fmt.Errorf("listing: %w", downErr{}))
		b, err := Parse(rr.Body.Bytes())
		if rr.Code != http.StatusServiceUnavailable || err != nil || b.Name != "serviceUnavailable" || b.Message != UnavailableMessage {
			t.Fatalf("answer %d %s", rr.Code, rr.Body)
		}
		now = now.Add(time.Second)
	}
	if n := strings.Count(logs.String(), "unavailable"); n != 1 {
		t.Fatalf("%d log lines for one outage:\n%s", n, logs.String())
	}
	now = now.Add(time.Minute) // a new outage
	rr := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/v2.1/servers", nil)
	Write(rr, r.WithContext(WithLogger(r.Context(), l)), downErr{})
	if n := strings.Count(logs.String(), "logged once per outage"); n != 2 || !strings.Contains(logs.String(), "requests_answered_503_in_previous_outage=4") {
		t.Fatalf("the second outage was not logged with the first one's count:\n%s", logs.String())
	}
}
