package policy

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// novaLike are nova's base rules and three API rules, as nova 26 declares
// them.
func novaLike() []RuleDefault {
	oldOwner := &DeprecatedRule{Name: "rule:admin_or_owner", CheckStr: "is_admin:True or project_id:%(project_id)s", Since: "21.0.0"}
	return []RuleDefault{
		{Name: "context_is_admin", CheckStr: "role:admin",
			DeprecatedRule: &DeprecatedRule{Name: "rule:admin_api", CheckStr: "is_admin:True", Since: "21.0.0"}},
		{Name: "project_reader_api", CheckStr: "role:reader and project_id:%(project_id)s", DeprecatedRule: oldOwner},
		{Name: "project_member_api", CheckStr: "role:member and project_id:%(project_id)s", DeprecatedRule: oldOwner},
		{Name: "project_reader_or_admin", CheckStr: "rule:project_reader_api or rule:context_is_admin", DeprecatedRule: oldOwner},
		{Name: "project_member_or_admin", CheckStr: "rule:project_member_api or rule:context_is_admin", DeprecatedRule: oldOwner},
		{Name: "os_compute_api:os-services:list", CheckStr: "rule:context_is_admin", ScopeTypes: []string{"project"},
			DeprecatedRule: &DeprecatedRule{Name: "os_compute_api:os-services", CheckStr: "rule:admin_api", Since: "21.0.0"}},
		{Name: "os_compute_api:servers:show", CheckStr: "rule:project_reader_or_admin", ScopeTypes: []string{"project"}},
		{Name: "os_compute_api:servers:create", CheckStr: "rule:project_member_or_admin", ScopeTypes: []string{"project"}},
	}
}

const (
	svcList = "os_compute_api:os-services:list"
	show    = "os_compute_api:servers:show"
	create  = "os_compute_api:servers:create"
)

var (
	cAdmin  = &auth.Context{UserID: "admin", ProjectID: "admin", Roles: []string{"admin", "member", "reader"}, IsAdmin: true}
	cMember = &auth.Context{UserID: "alice", ProjectID: "p1", Roles: []string{"member", "reader"}}
	cReader = &auth.Context{UserID: "rita", ProjectID: "p1", Roles: []string{"reader"}}
	cNoRole = &auth.Context{UserID: "nora", ProjectID: "p1"}
	cSystem = &auth.Context{UserID: "ops", Roles: []string{"admin"}, SystemScope: "all"}
	cOps    = &auth.Context{UserID: "olga", ProjectID: "p1", Roles: []string{"ops"}}
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newLogger() (*slog.Logger, *logBuf) {
	var b logBuf
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func mustEnforcer(t *testing.T, o Options) *Enforcer {
	t.Helper()
	if o.Defaults == nil {
		o.Defaults = novaLike()
	}
	if o.Logger == nil {
		o.Logger, _ = newLogger()
	}
	e, err := NewEnforcer(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func authz(e *Enforcer, c *auth.Context, action string, target Target) int {
	ctx := context.Background()
	if c != nil {
		ctx = auth.NewContext(ctx, c)
	}
	return code(e.AuthorizeTarget(ctx, action, target))
}

func TestNovaDefaults(t *testing.T) {
	own := Target{"project_id": "p1"}
	other := Target{"project_id": "p9"}
	for _, newDefaults := range []bool{false, true} {
		e := mustEnforcer(t, Options{EnforceNewDefaults: newDefaults})
		cases := []struct {
			c      *auth.Context
			action string
			target Target
			want   int
		}{
			{cAdmin, svcList, nil, 0}, {cMember, svcList, nil, 403}, {cReader, svcList, nil, 403},
			{cMember, show, own, 0}, {cReader, show, own, 0}, {cMember, show, other, 403},
			{cAdmin, show, other, 0}, {cMember, create, own, 0}, {cMember, create, nil, 0},
			{cAdmin, create, other, 0}, {cMember, create, other, 403},
			// The deprecated admin_or_owner lets a caller without roles act in
			// its own project until enforce_new_defaults.
			{cNoRole, show, own, map[bool]int{false: 0, true: 403}[newDefaults]},
			{cNoRole, create, nil, map[bool]int{false: 0, true: 403}[newDefaults]},
			{cReader, create, own, map[bool]int{false: 0, true: 403}[newDefaults]},
			{cNoRole, show, other, 403},
			{nil, show, own, 401},
			{cAdmin, "os_compute_api:no-such-rule", nil, 403},
		}
		for _, c := range cases {
			if got := authz(e, c.c, c.action, c.target); got != c.want {
				t.Errorf("enforce_new_defaults=%v %v %s %v: %d, want %d", newDefaults, c.c, c.action, c.target, got, c.want)
			}
		}
	}
}

func TestEnforceScope(t *testing.T) {
	for _, enforce := range []bool{false, true} {
		logger, logs := newLogger()
		e := mustEnforcer(t, Options{EnforceScope: enforce, Logger: logger})
		want := map[bool]int{false: 0, true: 403}[enforce]
		for range 2 {
			if got := authz(e, cSystem, svcList, nil); got != want {
				t.Errorf("enforce_scope=%v: system-scoped admin got %d, want %d", enforce, got, want)
			}
		}
		if got := authz(e, cAdmin, svcList, nil); got != 0 {
			t.Errorf("enforce_scope=%v: project admin got %d", enforce, got)
		}
		if n := strings.Count(logs.String(), "scope check failed"); n != map[bool]int{false: 1, true: 0}[enforce] {
			t.Errorf("enforce_scope=%v: %d scope warnings:\n%s", enforce, n, logs)
		}
		if tokenScope(CredentialsOf(&auth.Context{DomainID: "d"})) != "domain" {
			t.Error("a domain_id makes a domain-scoped token")
		}
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyFileOverrides(t *testing.T) {
	dir, etc := t.TempDir(), t.TempDir()
	writeFile(t, etc, "policy.yaml", `
# an operator's overrides
"os_compute_api:os-services:list": "role:ops or rule:context_is_admin"
"os_compute_api:servers:create": [["role:member", "project_id:%(project_id)s"]]
"os_compute_api:servers:show": "rule:project_reader_or_admin"
"custom_helper": "role:ops"
"not_a_nova_rule": "@"
"broken_ref": "rule:nowhere"
`)
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir, etc}, Logger: logger})
	if e.PolicyFile() != filepath.Join(etc, "policy.yaml") {
		t.Errorf("policy file %q", e.PolicyFile())
	}
	if authz(e, cOps, svcList, nil) != 0 || authz(e, cMember, svcList, nil) != 403 || authz(e, cAdmin, svcList, nil) != 0 {
		t.Error("override of os-services:list not applied")
	}
	// The list syntax, and an override replaces the deprecated fallback.
	if authz(e, cMember, create, nil) != 0 || authz(e, cAdmin, create, Target{"project_id": "p9"}) != 403 ||
		authz(e, cNoRole, create, nil) != 403 {
		t.Error("list-syntax override of servers:create not applied")
	}
	for _, w := range []string{
		`same as the defaults; they can be removed" rules=[os_compute_api:servers:show]`,
		`does not know; they have no effect" rules="[broken_ref custom_helper not_a_nova_rule]"`,
		`reference a rule that is not defined; those checks fail" rules=[broken_ref]`,
	} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %s:\n%s", w, logs)
		}
	}
	got := e.Rules()
	if got[svcList] != "(role:ops or rule:context_is_admin)" || got["custom_helper"] != "role:ops" ||
		got["project_reader_api"] != "((role:reader and project_id:%(project_id)s) or (is_admin:True or project_id:%(project_id)s))" {
		t.Errorf("effective rules: %v", got)
	}
}

func TestPolicyFileLookup(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	writeFile(t, second, "policy.json", `{"os_compute_api:os-services:list": "role:ops"}`)
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{first, second}, Logger: logger})
	if e.PolicyFile() != filepath.Join(second, "policy.json") || authz(e, cOps, svcList, nil) != 0 {
		t.Errorf("policy.json fallback: %q", e.PolicyFile())
	}
	if !strings.Contains(logs.String(), "JSON formatted policy_file support is deprecated") {
		t.Errorf("no JSON deprecation warning:\n%s", logs)
	}
	writeFile(t, first, "policy.yaml", `"os_compute_api:os-services:list": "role:first"`)
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.PolicyFile() != filepath.Join(first, "policy.yaml") {
		t.Errorf("the first directory wins: %q", e.PolicyFile())
	}
	abs := writeFile(t, second, "other.yaml", `"os_compute_api:os-services:list": "role:ops"`)
	if e := mustEnforcer(t, Options{PolicyFile: abs}); e.PolicyFile() != abs {
		t.Errorf("absolute path: %q", e.PolicyFile())
	}
	// Missing files are fine, configured or not.
	for _, name := range []string{DefaultPolicyFile, "nowhere.yaml", filepath.Join(first, "nowhere.yaml"), ""} {
		e := mustEnforcer(t, Options{PolicyFile: name, SearchDirs: []string{t.TempDir()}})
		if e.PolicyFile() != "" || authz(e, cAdmin, svcList, nil) != 0 || authz(e, cOps, svcList, nil) != 403 {
			t.Errorf("%q: missing file changed the defaults", name)
		}
	}
}

func TestPolicyFileErrors(t *testing.T) {
	for _, body := range []string{
		"\"a\": [unclosed",
		"- just\n- a list\n",
		`"os_compute_api:os-services:list": "role:admin or"`,
		`"os_compute_api:os-services:list": "admin"`,
		`"os_compute_api:os-services:list": 42`,
		`"os_compute_api:os-services:list": [[1]]`,
	} {
		dir := t.TempDir()
		writeFile(t, dir, "policy.yaml", body)
		_, err := NewEnforcer(Options{Defaults: novaLike(), PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "policy.yaml")) {
			t.Errorf("%q: err = %v, want an error naming the file", body, err)
		}
	}
	// Empty files, and null rules (allowed, as oslo reads an empty rule).
	for _, body := range []string{"", "# only comments\n", "{}", `"os_compute_api:os-services:list":`} {
		dir := t.TempDir()
		writeFile(t, dir, "policy.yaml", body)
		if _, err := NewEnforcer(Options{Defaults: novaLike(), PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}}); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	for _, d := range [][]RuleDefault{
		{{Name: "a", CheckStr: "role:x or"}},
		{{Name: "a", CheckStr: "@"}, {Name: "a", CheckStr: "!"}},
		{{Name: "a", CheckStr: "@", DeprecatedRule: &DeprecatedRule{Name: "b", CheckStr: "("}}},
	} {
		if _, err := NewEnforcer(Options{Defaults: d}); err == nil {
			t.Errorf("defaults %v accepted", d)
		}
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}, Logger: logger})
	if authz(e, cOps, svcList, nil) != 403 {
		t.Fatal("ops allowed before any file")
	}
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services:list": "role:ops"`)
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if authz(e, cOps, svcList, nil) != 0 || authz(e, cAdmin, svcList, nil) != 403 {
		t.Error("reload did not apply the new file")
	}
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services:list": "role:ops and"`)
	if err := e.Reload(); err == nil {
		t.Error("a broken file reloaded")
	}
	if authz(e, cOps, svcList, nil) != 0 || !strings.Contains(logs.String(), "the rules in force stay") {
		t.Error("a broken file replaced the rules in force")
	}
	if err := os.Remove(filepath.Join(dir, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(); err != nil || authz(e, cOps, svcList, nil) != 403 || authz(e, cAdmin, svcList, nil) != 0 {
		t.Errorf("removing the file did not restore the defaults: %v", err)
	}

	// Reloads race with decisions without tearing.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				if i == 0 && j%20 == 0 {
					_ = e.Reload()
				}
				if authz(e, cAdmin, show, nil) != 0 {
					t.Error("admin refused during reload")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDeprecatedRename(t *testing.T) {
	dir := t.TempDir()
	// An operator's override of the old name still applies to the new rule...
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services": "role:ops"`)
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}, Logger: logger})
	if authz(e, cOps, svcList, nil) != 0 || authz(e, cAdmin, svcList, nil) != 403 {
		t.Error("override of the deprecated name not applied")
	}
	if !strings.Contains(logs.String(), "policy rule was renamed") || strings.Contains(logs.String(), "does not know") {
		t.Errorf("rename not warned, or warned as unknown:\n%s", logs)
	}
	// ...unless it is the alias the sample file suggests.
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services": "rule:os_compute_api:os-services:list"`)
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if authz(e, cOps, svcList, nil) != 403 || authz(e, cAdmin, svcList, nil) != 0 {
		t.Error("alias of the new name changed the rule")
	}
}

func TestDefaultRuleAndMissingRules(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "policy.yaml", `
"default": "role:ops"
"os_compute_api:servers:show": "rule:nowhere"
`)
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}, Logger: logger})
	if authz(e, cOps, show, nil) != 0 || authz(e, cAdmin, show, nil) != 403 {
		t.Error("a reference to a missing rule does not fall back to the default rule")
	}
	e = mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}, DefaultRule: "other", Logger: logger})
	for range 2 {
		if authz(e, cOps, show, nil) != 403 {
			t.Error("a missing rule allowed")
		}
	}
	if n := strings.Count(logs.String(), `references a rule that is not defined; that check fails" action=os_compute_api:servers:show rule=nowhere`); n != 1 {
		t.Errorf("missing rule logged %d times:\n%s", n, logs)
	}
}

func TestCycleRefuses(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "policy.yaml", `
"os_compute_api:servers:show": "not rule:a"
"a": "rule:b"
"b": "rule:a"
`)
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}, Logger: logger})
	if authz(e, cAdmin, show, nil) != 403 {
		t.Error("a cycle under not allowed")
	}
	if !strings.Contains(logs.String(), "cyclical reference") {
		t.Errorf("cycle not warned at load:\n%s", logs)
	}
}

func TestCustomChecks(t *testing.T) {
	isAdmin := func(match string, _ Target, creds Credentials) bool {
		b, _ := creds["is_admin"].(bool)
		return b == strings.EqualFold(match, "true")
	}
	e := mustEnforcer(t, Options{
		Defaults: []RuleDefault{{Name: "x", CheckStr: "is_admin:true"}},
		Checks:   map[string]CheckFunc{"is_admin": isAdmin},
	})
	if authz(e, cAdmin, "x", nil) != 0 || authz(e, cMember, "x", nil) != 403 {
		t.Error("custom check not used")
	}
	if !e.Enforce("x", Target{}, Credentials{"is_admin": true}) || e.Enforce("nope", nil, Credentials{}) {
		t.Error("Enforce")
	}
}

func TestAllowedAndRequire(t *testing.T) {
	e := mustEnforcer(t, Options{})
	ctx := auth.NewContext(context.Background(), cMember)
	if !e.Allowed(ctx, show, nil) || e.Allowed(ctx, show, Target{"project_id": "p9"}) || e.Allowed(context.Background(), show, nil) {
		t.Error("Allowed")
	}
	if !e.IsAdmin(cAdmin) || e.IsAdmin(cMember) {
		t.Error("IsAdmin")
	}
	// Require checks the caller's own project; RequireTarget the target
	// given, here nova's empty one for operator APIs.
	dir := t.TempDir()
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services:list": "project_id:%(project_id)s"`)
	e = mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, SearchDirs: []string{dir}})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, c := range []struct {
		h    http.Handler
		want int
	}{{e.Require(svcList)(ok), 200}, {e.RequireTarget(svcList, Target{})(ok), 403}, {e.RequireTarget(svcList, nil)(ok), 403}} {
		r := httptest.NewRequest("GET", "/v2.1/os-services", nil)
		r = r.WithContext(auth.NewContext(r.Context(), cMember))
		w := httptest.NewRecorder()
		c.h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%d, want %d", w.Code, c.want)
		}
	}
}

func TestCredentialsOf(t *testing.T) {
	c := CredentialsOf(&auth.Context{UserID: "u", ProjectID: "p", Roles: []string{"r"}, SystemScope: "all", UserDomainID: "default"})
	if c["user_id"] != "u" || c["project_id"] != "p" || c["system"] != "all" || c["system_scope"] != "all" ||
		c["domain_id"] != nil || c["user_domain_id"] != "default" || c["is_admin"] != false {
		t.Errorf("%v", c)
	}
	if _, ok := c["domain_id"]; !ok {
		t.Error("absent values are None, not missing")
	}
}

func TestPolicyDirs(t *testing.T) {
	etc := t.TempDir()
	writeFile(t, etc, "policy.yaml", `
"os_compute_api:os-services:list": "role:file"
"os_compute_api:servers:show": "role:file"
`)
	if err := os.Mkdir(filepath.Join(etc, "policy.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(etc, "policy.d"), "10-ops.yaml", `"os_compute_api:os-services:list": "role:ops"`)
	writeFile(t, filepath.Join(etc, "policy.d"), "20-later.yaml", `"os_compute_api:servers:show": "role:later"`)
	writeFile(t, filepath.Join(etc, "policy.d"), ".hidden.yaml", `"os_compute_api:servers:create": "!"`)
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, PolicyDirs: []string{"policy.d", "missing.d"}, SearchDirs: []string{etc}})
	r := e.Rules()
	if r[svcList] != "role:ops" || r[show] != "role:later" || r[create] == "!" {
		t.Errorf("policy.d not applied in order: %v %v %v", r[svcList], r[show], r[create])
	}
	// Without the policy file, the directory still applies (as oslo 4).
	if err := os.Remove(filepath.Join(etc, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(); err != nil || e.Rules()[svcList] != "role:ops" {
		t.Errorf("policy.d without policy.yaml: %v %v", err, e.Rules()[svcList])
	}
}

func TestReloadIfChanged(t *testing.T) {
	dir := t.TempDir()
	logger, logs := newLogger()
	e := mustEnforcer(t, Options{PolicyFile: DefaultPolicyFile, PolicyDirs: []string{"policy.d"}, SearchDirs: []string{dir}, Logger: logger})
	if changed, err := e.ReloadIfChanged(); changed || err != nil {
		t.Fatalf("nothing changed: %v %v", changed, err)
	}
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services:list": "role:ops"`)
	if changed, err := e.ReloadIfChanged(); !changed || err != nil || authz(e, cOps, svcList, nil) != 0 {
		t.Fatalf("new file: %v %v", changed, err)
	}
	if changed, _ := e.ReloadIfChanged(); changed {
		t.Error("reloaded an unchanged file")
	}
	writeFile(t, dir, "policy.yaml", `"os_compute_api:os-services:list": "role:ops or"`)
	if changed, err := e.ReloadIfChanged(); changed || err == nil {
		t.Errorf("broken file: %v %v", changed, err)
	}
	for range 3 {
		if changed, err := e.ReloadIfChanged(); changed || err != nil {
			t.Errorf("a refused version is retried: %v %v", changed, err)
		}
	}
	if n := strings.Count(logs.String(), "the rules in force stay"); n != 1 || authz(e, cOps, svcList, nil) != 0 {
		t.Errorf("%d refusals logged; ops allowed: %v", n, authz(e, cOps, svcList, nil) == 0)
	}
	if err := os.Mkdir(filepath.Join(dir, "policy.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "policy.yaml", `{}`)
	writeFile(t, filepath.Join(dir, "policy.d"), "x.yaml", `"os_compute_api:os-services:list": "role:dir"`)
	if changed, err := e.ReloadIfChanged(); !changed || err != nil || e.Rules()[svcList] != "role:dir" {
		t.Errorf("fixed file and a new directory: %v %v %v", changed, err, e.Rules()[svcList])
	}
}

func TestEnforcerCopiesDefaults(t *testing.T) {
	d := novaLike()
	e := mustEnforcer(t, Options{Defaults: d})
	for i := range d {
		d[i].CheckStr = "@"
		d[i].ScopeTypes = nil
	}
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if authz(e, cMember, svcList, nil) != 403 {
		t.Error("a change to the caller's defaults reached the enforcer")
	}
}
