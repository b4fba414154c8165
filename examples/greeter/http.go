package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// GreetingDoc is the answer of GET /v1/greeting: the manager's greeting and
// who asked, as the authenticator established it (never from the request's
// own identity headers, which the Keystone middleware removes first).
type GreetingDoc struct {
	GreetResult
	UserID    string   `json:"user_id"`
	ProjectID string   `json:"project_id"`
	Roles     []string `json:"roles"`
}

// newHTTPService serves GET /v1/greeting?name=... on host:port (a negative
// port: any free one) behind the authenticator [api] auth_strategy names:
// keystone (a valid Keystone token in X-Auth-Token, validated as
// [keystone_authtoken] says; otherwise 401 with WWW-Authenticate) or noauth2
// (development: the token "user:project" is trusted).
func newHTTPService(a *app.App, m *Manager, host string, port int) (*wsgi.Service, error) {
	authn, err := a.Authenticator()
	if err != nil {
		return nil, err
	}
	r := wsgi.NewRouter(wsgi.RouterOptions{Logger: a.Log})
	r.With(auth.MiddlewareWithLogger(authn, a.Log)).Get("/v1/greeting", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := auth.FromContext(r.Context())
		res, err := m.greet(r.URL.Query().Get("name"))
		if errors.Is(err, ErrNoName) {
			fault.Write(w, r, fault.BadRequest("Query parameter name is required."))
			return
		}
		body, _ := json.Marshal(GreetingDoc{GreetResult: res, UserID: caller.UserID, ProjectID: caller.ProjectID, Roles: caller.Roles})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	return wsgi.New(wsgi.Options{Name: "greeter_api", Host: host, Port: port, Handler: r, Logger: a.Log})
}
