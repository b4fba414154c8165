package policy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

const list = "os_compute_api:os-services:list"

func code(err error) int {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestAuthorize(t *testing.T) {
	e := New(map[string]Rule{
		list:     Admin,
		"reader": Any(Admin, Role("reader")),
		"both":   All(Role("member"), Role("reader")),
		"open":   Anyone,
	})
	admin := &auth.Context{UserID: "admin", IsAdmin: true}
	roleAdmin := &auth.Context{UserID: "ops", Roles: []string{"Admin"}}
	alice := &auth.Context{UserID: "alice", Roles: []string{"reader", "member"}}
	bob := &auth.Context{UserID: "bob", Roles: []string{"member"}}
	cases := []struct {
		c      *auth.Context
		action string
		want   int
	}{
		{admin, list, 0}, {roleAdmin, list, 0}, {alice, list, 403}, {bob, list, 403},
		{alice, "reader", 0}, {bob, "reader", 403}, {admin, "reader", 0},
		{alice, "both", 0}, {bob, "both", 403},
		{bob, "open", 0},
		{admin, "os_compute_api:no-such-rule", 403},
		{nil, list, 401},
	}
	for _, c := range cases {
		ctx := context.Background()
		if c.c != nil {
			ctx = auth.NewContext(ctx, c.c)
		}
		if got := code(e.Authorize(ctx, c.action)); got != c.want {
			t.Errorf("%v %s: %d, want %d", c.c, c.action, got, c.want)
		}
	}
}

func TestRequireWritesNovaMessage(t *testing.T) {
	e := New(map[string]Rule{list: Admin})
	ran := false
	h := e.Require(list)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))

	r := httptest.NewRequest("GET", "/v2.1/os-services", nil)
	r = r.WithContext(auth.NewContext(r.Context(), &auth.Context{UserID: "alice", ProjectID: "p"}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, err := fault.Parse(w.Body.Bytes())
	if w.Code != 403 || err != nil || b.Name != "forbidden" ||
		b.Message != "Policy doesn't allow os_compute_api:os-services:list to be performed." {
		t.Errorf("%d %+v %v", w.Code, b, err)
	}
	if ran {
		t.Error("handler ran for a refused caller")
	}

	r = r.WithContext(auth.NewContext(r.Context(), &auth.Context{UserID: "admin", IsAdmin: true}))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !ran {
		t.Errorf("admin refused: %d", w.Code)
	}
}

func TestNewCopiesRules(t *testing.T) {
	rules := map[string]Rule{list: Anyone}
	e := New(rules)
	rules[list] = func(*auth.Context) bool { return false }
	ctx := auth.NewContext(context.Background(), &auth.Context{UserID: "u"})
	if err := e.Authorize(ctx, list); err != nil {
		t.Errorf("enforcer saw a later change to the map: %v", err)
	}
}
