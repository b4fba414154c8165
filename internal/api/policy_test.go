package api

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/policies"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// Callers beyond noauth2's: "user:project:role,role" has exactly those
// roles (rolesAuth), as a Keystone token would.
const (
	reader   = "rita:proj-a:reader"         // reads proj-a
	member   = "carol:proj-a:member,reader" // another member of proj-a
	readerB  = "rob:proj-b:reader"          // reads proj-b
	operator = "olga:proj-o:operator,member,reader"
)

// rolesAuth is noauth2 with roles: "user:project:r1,r2" is that user in
// that project with exactly those roles; other tokens are noauth2's.
var rolesAuth = auth.AuthenticatorFunc(func(r *http.Request) (*auth.Context, error) {
	parts := strings.SplitN(r.Header.Get(auth.HeaderAuthToken), ":", 3)
	if len(parts) < 3 {
		return auth.NoAuth{}.Authenticate(r)
	}
	return &auth.Context{UserID: parts[0], ProjectID: parts[1], Roles: strings.Split(parts[2], ",")}, nil
})

// policyEnv is an env whose enforcer nova-api would build from a nova.conf
// with the [oslo_policy] options in section and, beside it, policy.yaml
// holding rules (none when ""). It returns the directory of both.
func policyEnv(t *testing.T, b backend, section, rules string) (*env, *policy.Enforcer, string) {
	t.Helper()
	dir := t.TempDir()
	if rules != "" {
		writePolicy(t, dir, rules)
	}
	conf := filepath.Join(dir, "nova.conf")
	if err := os.WriteFile(conf, []byte("[oslo_policy]\n"+section), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.ParseWith([]string{"--config-file", conf}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	enf, err := policy.NewEnforcer(policies.Options(c, slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, b, func(d *Deps, _ *computeapi.Options) { d.Policy, d.Auth = enf, rolesAuth })
	return e, enf, dir
}

func writePolicy(t *testing.T, dir, rules string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
}

// boot creates a server as token and returns its id.
func (e *env) boot(t *testing.T, token, name string) string {
	t.Helper()
	r := e.do("POST", "/v2.1/servers", token, "", bootBody(name, "1"))
	r.want(t, 202)
	return obj(t, r.Body["server"])["id"].(string)
}

func refused(action string) string { return "Policy doesn't allow " + action + " to be performed." }

var (
	rebootBody  = map[string]any{"reboot": map[string]any{"type": "SOFT"}}
	consoleBody = map[string]any{"os-getConsoleOutput": map[string]any{}}
)

// With enforce_new_defaults, nova's new defaults alone decide: a reader of
// the project lists and shows its servers but may not create, delete or
// act on them. Without it (nova 26's default), the deprecated
// admin_or_owner is or'ed in, and the same reader may create.
func TestPolicyReaderReadsButDoesNotWrite(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e, _, _ := policyEnv(t, b, "enforce_new_defaults = true\n", "")
			e.addNode("c1", 8, 16384, 200)
			id := e.boot(t, alice, "web")

			r := e.do("GET", "/v2.1/servers", reader, "", nil)
			r.want(t, 200)
			if l := list(t, r.Body["servers"]); len(l) != 1 || obj(t, l[0])["id"] != id {
				t.Errorf("reader's list %s", r.Raw)
			}
			e.do("GET", "/v2.1/servers/detail", reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/servers/"+id, reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/flavors", reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/flavors/1", reader, "", nil).want(t, 200)

			e.do("POST", "/v2.1/servers", reader, "", bootBody("nope", "1")).wantFault(t, 403, refused("os_compute_api:servers:create"))
			e.do("DELETE", "/v2.1/servers/"+id, reader, "", nil).wantFault(t, 403, refused("os_compute_api:servers:delete"))
			e.do("POST", "/v2.1/servers/"+id+"/action", reader, "", rebootBody).wantFault(t, 403, refused("os_compute_api:servers:reboot"))
			e.do("POST", "/v2.1/servers/"+id+"/action", reader, "", consoleBody).wantFault(t, 403, refused("os_compute_api:os-console-output"))
			// The schema comes before the policy, as in nova.
			e.do("POST", "/v2.1/servers", reader, "", map[string]any{"server": map[string]any{"name": "x"}}).wantFault(t, 400, "")
			// A member (noauth2's alice) still may.
			e.do("POST", "/v2.1/servers/"+id+"/action", alice, "", consoleBody).want(t, 200)
			e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).want(t, 204)

			// nova 26's default (enforce_new_defaults = false): the
			// deprecated admin_or_owner lets the reader create.
			old, _, _ := policyEnv(t, b, "", "")
			old.addNode("c1", 8, 16384, 200)
			old.boot(t, reader, "allowed")
		})
	}
}

// nova loads the server scoped to the caller's project first, then checks
// the policy on it: another project's server is 404, whatever the policy,
// and a refusal (403) is only for a server the caller can see.
func TestPolicyOtherProjectsServerIsNotFound(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e, _, _ := policyEnv(t, b, "enforce_new_defaults = true\n", "")
			e.addNode("c1", 8, 16384, 200)
			idA := e.boot(t, alice, "a")
			idB := e.boot(t, bob, "b")
			notFound := "Instance " + idB + " could not be found."
			for _, who := range []string{alice, reader} {
				e.do("GET", "/v2.1/servers/"+idB, who, "", nil).wantFault(t, 404, notFound)
				e.do("DELETE", "/v2.1/servers/"+idB, who, "", nil).wantFault(t, 404, notFound)
				e.do("POST", "/v2.1/servers/"+idB+"/action", who, "", rebootBody).wantFault(t, 404, notFound)
				e.do("POST", "/v2.1/servers/"+idB+"/action", who, "", consoleBody).wantFault(t, 404, notFound)
			}
			// proj-b's reader: 404 for proj-a's server, 403 for its own.
			e.do("DELETE", "/v2.1/servers/"+idA, readerB, "", nil).wantFault(t, 404, "Instance "+idA+" could not be found.")
			e.do("DELETE", "/v2.1/servers/"+idB, readerB, "", nil).wantFault(t, 403, refused("os_compute_api:servers:delete"))
			if r := e.do("GET", "/v2.1/servers", alice, "", nil); len(list(t, r.Body["servers"])) != 1 {
				t.Errorf("alice lists %s", r.Raw)
			}
			// The admin sees both (context_is_admin).
			e.do("GET", "/v2.1/servers/"+idB, admin, "", nil).want(t, 200)
		})
	}
}

// The policy of a server action is checked on the instance, with nova's
// target: delete's carries the instance's user, so "only its creator"
// holds for another member of the same project; show's has only the
// project (nova/api/openstack/compute/servers.py), so a rule on
// %(user_id)s finds no value there and its check is false.
func TestPolicyTargetIsTheInstance(t *testing.T) {
	runBothPolicy(t, "", `"os_compute_api:servers:delete": "user_id:%(user_id)s"
"os_compute_api:servers:show": "project_id:%(project_id)s and not user_id:%(user_id)s"
`, func(t *testing.T, e *env, _ *policy.Enforcer, _ string) {
		e.addNode("c1", 8, 16384, 200)
		id := e.boot(t, alice, "mine")
		e.do("DELETE", "/v2.1/servers/"+id, member, "", nil).wantFault(t, 403, refused("os_compute_api:servers:delete"))
		for _, who := range []string{alice, member} {
			e.do("GET", "/v2.1/servers/"+id, who, "", nil).want(t, 200)
		}
		e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).want(t, 204)
	})
}

func runBothPolicy(t *testing.T, section, rules string, f func(t *testing.T, e *env, enf *policy.Enforcer, dir string)) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e, enf, dir := policyEnv(t, b, section, rules)
			f(t, e, enf, dir)
		})
	}
}

// os-services and os-hypervisors are admin APIs, checked with nova's empty
// target: a rule naming %(project_id)s refuses there, and a rule the
// operator writes opens them.
func TestPolicyOperatorAPIs(t *testing.T) {
	runBothPolicy(t, "", "", func(t *testing.T, e *env, _ *policy.Enforcer, _ string) {
		e.addService("c1", "nova-compute")
		for _, who := range []string{alice, reader, operator} {
			e.do("GET", "/v2.1/os-services", who, "", nil).wantFault(t, 403, refused("os_compute_api:os-services:list"))
			e.do("PUT", "/v2.1/os-services/enable", who, "", map[string]any{"host": "c1", "binary": "nova-compute"}).
				wantFault(t, 403, refused("os_compute_api:os-services:update"))
			e.do("DELETE", "/v2.1/os-services/1", who, "", nil).wantFault(t, 403, refused("os_compute_api:os-services:delete"))
			e.do("GET", "/v2.1/os-hypervisors", who, "", nil).wantFault(t, 403, refused("os_compute_api:os-hypervisors:list"))
			e.do("GET", "/v2.1/os-hypervisors/detail", who, "", nil).wantFault(t, 403, refused("os_compute_api:os-hypervisors:list-detail"))
			e.do("GET", "/v2.1/os-hypervisors/1", who, "", nil).wantFault(t, 403, refused("os_compute_api:os-hypervisors:show"))
		}
		e.do("GET", "/v2.1/os-services", admin, "", nil).want(t, 200)
	})
	runBothPolicy(t, "", `"os_compute_api:os-services:list": "role:operator"
"os_compute_api:os-hypervisors:list": "project_id:%(project_id)s"
`, func(t *testing.T, e *env, _ *policy.Enforcer, _ string) {
		e.addService("c1", "nova-compute")
		if r := e.do("GET", "/v2.1/os-services", operator, "", nil); r.Code != 200 || len(list(t, r.Body["services"])) != 1 {
			t.Errorf("the operator role, given os-services:list: %d %s", r.Code, r.Raw)
		}
		e.do("GET", "/v2.1/os-services", alice, "", nil).wantFault(t, 403, refused("os_compute_api:os-services:list"))
		e.do("GET", "/v2.1/os-services", admin, "", nil).wantFault(t, 403, refused("os_compute_api:os-services:list"))
		// The empty target has no project: the rule refuses everyone.
		for _, who := range []string{alice, admin} {
			e.do("GET", "/v2.1/os-hypervisors", who, "", nil).wantFault(t, 403, refused("os_compute_api:os-hypervisors:list"))
		}
	})
}

// policy.yaml beside nova.conf overrides a rule; Reload (SIGHUP) reads a
// new version, and keeps the rules in force when the file does not parse.
func TestPolicyFileOverridesAndReloads(t *testing.T) {
	runBothPolicy(t, "policy_file = policy.yaml\n", `"os_compute_api:servers:create": "role:admin"`+"\n",
		func(t *testing.T, e *env, enf *policy.Enforcer, dir string) {
			e.addNode("c1", 8, 16384, 200)
			if !strings.HasPrefix(enf.PolicyFile(), dir) {
				t.Fatalf("policy file in force %q, want the one in %s", enf.PolicyFile(), dir)
			}
			e.do("POST", "/v2.1/servers", alice, "", bootBody("no", "1")).wantFault(t, 403, refused("os_compute_api:servers:create"))
			e.boot(t, admin, "admin's")

			writePolicy(t, dir, "\"os_compute_api:servers:create\": \"role:admin or\n")
			if err := enf.Reload(); err == nil {
				t.Fatal("Reload of a policy file that does not parse succeeded")
			}
			e.do("POST", "/v2.1/servers", alice, "", bootBody("still no", "1")).wantFault(t, 403, refused("os_compute_api:servers:create"))

			writePolicy(t, dir, `"os_compute_api:servers:create": "role:member"`+"\n"+`"os_compute_api:servers:index": "!"`+"\n")
			if err := enf.Reload(); err != nil {
				t.Fatal(err)
			}
			e.boot(t, alice, "now yes")
			e.do("GET", "/v2.1/servers", alice, "", nil).wantFault(t, 403, refused("os_compute_api:servers:index"))
			// nova checks no policy on flavors: nothing closes them.
			writePolicy(t, dir, `"os_compute_api:flavors:index": "!"`+"\n")
			if err := enf.Reload(); err != nil {
				t.Fatal(err)
			}
			e.do("GET", "/v2.1/flavors/detail", alice, "", nil).want(t, 200)
			e.do("GET", "/v2.1/servers", alice, "", nil).want(t, 200)
		})
}

// Who is an admin is the policy's context_is_admin (nova's
// check_is_admin), not a role: an operator made admin by policy.yaml sees
// every project's servers, all_tenants and the admin attributes. noauth2's
// admin keeps is_admin, as nova's noauth2 sets it, but no longer passes
// rules that name context_is_admin alone (get_all_tenants).
func TestPolicyContextIsAdminDecidesAdmin(t *testing.T) {
	runBothPolicy(t, "", `"context_is_admin": "role:operator"`+"\n", func(t *testing.T, e *env, enf *policy.Enforcer, _ string) {
		e.addNode("c1", 8, 16384, 200)
		id := e.boot(t, alice, "a")
		r := e.do("GET", "/v2.1/servers/"+id, operator, "2.16", nil)
		r.want(t, 200)
		s := obj(t, r.Body["server"])
		if s["OS-EXT-SRV-ATTR:host"] != "c1" || s["host_status"] != "UP" {
			t.Errorf("the operator's view %s", r.Raw)
		}
		if r := e.do("GET", "/v2.1/servers/detail?all_tenants=1", operator, "", nil); r.Code != 200 || len(list(t, r.Body["servers"])) != 1 {
			t.Errorf("operator all_tenants: %d %s", r.Code, r.Raw)
		}
		e.do("GET", "/v2.1/os-services", operator, "", nil).want(t, 200)
		e.do("POST", "/v2.1/servers/"+id+"/action", operator, "", consoleBody).want(t, 200)
		e.do("DELETE", "/v2.1/servers/"+id, operator, "", nil).want(t, 204)

		c, _ := rolesAuth.Authenticate(tokenRequest(operator))
		if !enf.IsAdmin(c) {
			t.Error("the operator is not context_is_admin")
		}
		e.do("GET", "/v2.1/servers?all_tenants=1", admin, "", nil).wantFault(t, 403, refused("os_compute_api:servers:index:get_all_tenants"))
		// alice is not an admin: proj-o's server is not found.
		ido := e.boot(t, operator, "o")
		e.do("GET", "/v2.1/servers/"+ido, alice, "", nil).wantFault(t, 404, "Instance "+ido+" could not be found.")
	})
}

func tokenRequest(token string) *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set(auth.HeaderAuthToken, token)
	return r
}

// The detail views follow os-extended-server-attributes and
// servers:show:host_status[:unknown-only], as nova's: per instance on show,
// once for the caller's project on detail.
func TestPolicyShapesServerViews(t *testing.T) {
	runBothPolicy(t, "", `"os_compute_api:os-extended-server-attributes": "project_id:%(project_id)s"
"os_compute_api:servers:show:host_status:unknown-only": "@"
`, func(t *testing.T, e *env, _ *policy.Enforcer, _ string) {
		svc, _ := e.addNode("c1", 8, 16384, 200)
		id := e.boot(t, alice, "a")
		show := func() map[string]any {
			r := e.do("GET", "/v2.1/servers/"+id, alice, "2.16", nil)
			r.want(t, 200)
			return obj(t, r.Body["server"])
		}
		s := show()
		if s["OS-EXT-SRV-ATTR:host"] != "c1" {
			t.Errorf("extended attributes allowed on the own project: %v", s)
		}
		if _, ok := s["host_status"]; ok {
			t.Errorf("host_status UP shown to an unknown-only caller: %v", s["host_status"])
		}
		e.makeDown(svc)
		if s := show(); s["host_status"] != "UNKNOWN" {
			t.Errorf("host_status %v, want UNKNOWN", s["host_status"])
		}
		r := e.do("GET", "/v2.1/servers/detail", alice, "2.16", nil)
		d := obj(t, list(t, r.Body["servers"])[0])
		if d["OS-EXT-SRV-ATTR:host"] != "c1" || d["host_status"] != "UNKNOWN" {
			t.Errorf("detail %s", r.Raw)
		}
		// The admin: host_status by the default (context_is_admin); no
		// extended attributes of proj-a's server, whose project the
		// override compares with the admin's on show.
		s = obj(t, e.do("GET", "/v2.1/servers/"+id, admin, "2.16", nil).Body["server"])
		if _, ok := s["OS-EXT-SRV-ATTR:instance_name"]; ok || s["host_status"] != "UNKNOWN" {
			t.Errorf("admin's view %v", s)
		}
	})
}
