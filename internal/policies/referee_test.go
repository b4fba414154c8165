package policies

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

type refCheck struct {
	Action string             `json:"action"`
	Target policy.Target      `json:"target"`
	Creds  policy.Credentials `json:"creds"`
}

type refRun struct {
	PolicyFile         string     `json:"policy_file,omitempty"`
	PolicyDirs         []string   `json:"policy_dirs,omitempty"`
	EnforceScope       bool       `json:"enforce_scope"`
	EnforceNewDefaults bool       `json:"enforce_new_defaults"`
	Checks             []refCheck `json:"checks"`
}

// Policy files an operator might write, from none to the odd ones: an
// override of a rule, of a base rule, of a rule's old name (renamed rules
// keep it), the alias the sample suggests, a deprecated name spelled with
// its "rule:" prefix, the legacy list syntax, and a policy.d.
var refereeFiles = []struct {
	name, yaml, dir string
}{
	{name: "none"},
	{name: "overrides", yaml: `
"os_compute_api:servers:show": "role:ops or rule:context_is_admin"
"context_is_admin": "role:admin or role:superuser"
"os_compute_api:servers:create": [["role:member", "project_id:%(project_id)s"], ["role:superuser"]]
"project_reader_api": "role:reader and project_id:%(project_id)s"
`},
	{name: "old names", yaml: `
"os_compute_api:os-services": "role:ops"
"os_compute_api:os-hypervisors": "rule:os_compute_api:os-hypervisors:list"
"rule:admin_or_owner": "role:ops"
"admin_or_owner": "role:nobody"
"admin_api": "role:superuser"
`},
	{name: "policy.d", yaml: `"os_compute_api:os-services:list": "role:ops"`,
		dir: `"os_compute_api:os-services:list": "role:superuser"
"os_compute_api:servers:index": "!"
"default": "role:ops"
"os_compute_api:servers:delete": "rule:nowhere"`},
}

var refereeActions = []string{
	"context_is_admin", "admin_or_owner", "admin_api", "project_member_api", "project_reader_api",
	"project_member_or_admin", "project_reader_or_admin",
	"os_compute_api:os-services:list", "os_compute_api:os-services:update", "os_compute_api:os-services:delete",
	"os_compute_api:os-hypervisors:list", "os_compute_api:os-hypervisors:list-detail", "os_compute_api:os-hypervisors:show",
	"os_compute_api:servers:index", "os_compute_api:servers:detail", "os_compute_api:servers:index:get_all_tenants",
	"os_compute_api:servers:detail:get_all_tenants", "os_compute_api:servers:show", "os_compute_api:servers:create",
	"os_compute_api:servers:delete", "os_compute_api:servers:reboot", "os_compute_api:os-console-output",
	"os_compute_api:os-extended-server-attributes", "os_compute_api:servers:show:host_status",
	"os_compute_api:os-keypairs:index", "os_compute_api:os-keypairs:create", "os_compute_api:os-aggregates:index",
	"os_compute_api:os-quota-sets:show", "os_compute_api:os-flavor-manage:create", "os_compute_api:os-flavor-access",
	"os_compute_api:servers:show:flavor-extra-specs", "os_compute_api:os-unrescue", "os_compute_api:limits",
	"os_compute_api:os-availability-zone:list", "os_compute_api:os-server-groups:index:all_projects",
}

var refereeCallers = []*auth.Context{
	{UserID: "admin", ProjectID: "admin", Roles: []string{"admin", "member", "reader"}, IsAdmin: true},
	{UserID: "alice", ProjectID: "p1", Roles: []string{"member", "reader"}},
	{UserID: "rita", ProjectID: "p1", Roles: []string{"reader"}},
	{UserID: "nora", ProjectID: "p1"},
	{UserID: "olga", ProjectID: "p1", Roles: []string{"ops"}},
	{UserID: "sam", ProjectID: "p2", Roles: []string{"superuser"}},
	{UserID: "sys", Roles: []string{"admin", "reader"}, SystemScope: "all"},
	{UserID: "dom", Roles: []string{"admin"}, DomainID: "d1", UserDomainID: "d1"},
}

var refereeTargets = []policy.Target{
	{"project_id": "p1", "user_id": "alice"},
	{"project_id": "p9", "user_id": "bob"},
}

// TestEnforcerMatchesNova puts the same questions to gonova's Enforcer over
// Defaults() and to nova 26's enforcer (oslo.policy over nova.policies), for
// each policy file above and each setting of enforce_scope and
// enforce_new_defaults: every caller, action and target must get the same
// answer.
func TestEnforcerMatchesNova(t *testing.T) {
	testenv.RequirePython(t, "nova.policies", "python3-nova")
	var checks []refCheck
	for _, a := range refereeActions {
		for _, c := range refereeCallers {
			for _, tg := range refereeTargets {
				checks = append(checks, refCheck{Action: a, Target: tg, Creds: policy.CredentialsOf(c)})
			}
		}
	}
	type goRun struct {
		name string
		conf *config.Config
	}
	var runs []refRun
	var goRuns []goRun
	for _, f := range refereeFiles {
		dir := t.TempDir()
		conf := config.Defaults()
		conf.Policy.PolicyFile, conf.Policy.PolicyDirs = filepath.Join(dir, "policy.yaml"), ""
		var run refRun
		if f.yaml != "" {
			if err := os.WriteFile(conf.Policy.PolicyFile, []byte(f.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			run.PolicyFile = conf.Policy.PolicyFile
		}
		if f.dir != "" {
			d := filepath.Join(dir, "policy.d")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "50-local.yaml"), []byte(f.dir), 0o600); err != nil {
				t.Fatal(err)
			}
			conf.Policy.PolicyDirs, run.PolicyDirs = d, []string{d}
		}
		for _, scope := range []bool{false, true} {
			for _, newDefaults := range []bool{false, true} {
				c := *conf
				c.Policy.EnforceScope, c.Policy.EnforceNewDefaults = scope, newDefaults
				r := run
				r.EnforceScope, r.EnforceNewDefaults, r.Checks = scope, newDefaults, checks
				runs = append(runs, r)
				goRuns = append(goRuns, goRun{f.name, &c})
			}
		}
	}
	in, err := json.Marshal(map[string]any{"runs": runs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.PythonPath, "testdata/nova_enforcer_referee.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nova referee: %v: %s", err, stderr.String())
	}
	var answers [][]any
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != len(runs) {
		t.Fatalf("nova referee answered %d runs of %d: %v", len(answers), len(runs), err)
	}
	// Each file changes some of nova's answers (so the referee read it),
	// and so do the options.
	for i := 4; i < len(runs); i++ {
		if equalAnswers(answers[i], answers[i%4]) {
			t.Errorf("file %q: nova answers as without a file", goRuns[i].name)
		}
	}
	if equalAnswers(answers[0], answers[1]) || equalAnswers(answers[0], answers[2]) {
		t.Error("enforce_scope and enforce_new_defaults change none of nova's answers")
	}
	quiet := slog.New(slog.DiscardHandler)
	agree, fails := 0, 0
	for i, gr := range goRuns {
		e, err := policy.NewEnforcer(Options(gr.conf, quiet))
		if err != nil {
			t.Fatalf("%s: %v", gr.name, err)
		}
		for j, c := range checks {
			got := e.Enforce(c.Action, c.Target, c.Creds)
			want := answers[i][j]
			if w, ok := want.(bool); (ok && got != w) || (!ok && got) {
				fails++
				if fails <= 20 {
					t.Errorf("file %q enforce_scope=%v enforce_new_defaults=%v: %s for %v on %v: gonova %v, nova %v",
						gr.name, gr.conf.Policy.EnforceScope, gr.conf.Policy.EnforceNewDefaults,
						c.Action, c.Creds["user_id"], c.Target["project_id"], got, want)
				}
				continue
			}
			agree++
		}
	}
	if fails > 0 {
		t.Errorf("%d disagreements", fails)
	}
	t.Logf("%d decisions agree with nova %s's enforcer", agree, "26")
}

func equalAnswers(a, b []any) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
