package policy_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

func ExampleNewEnforcer() {
	defaults := []policy.RuleDefault{
		{Name: "context_is_admin", CheckStr: "role:admin"},
		{Name: "os_compute_api:os-services:list", CheckStr: "rule:context_is_admin", ScopeTypes: []string{"project"}},
		{Name: "os_compute_api:servers:show", CheckStr: "role:reader and project_id:%(project_id)s or rule:context_is_admin"},
	}
	// An operator lets the role "ops" list services.
	dir, _ := os.MkdirTemp("", "policy")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "policy.yaml"),
		[]byte(`"os_compute_api:os-services:list": "role:ops or rule:context_is_admin"`), 0o600)

	enf, err := policy.NewEnforcer(policy.Options{
		Defaults: defaults, PolicyFile: policy.DefaultPolicyFile, SearchDirs: []string{dir},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	olga := auth.NewContext(context.Background(), &auth.Context{UserID: "olga", ProjectID: "p1", Roles: []string{"ops", "reader"}})
	fmt.Println(enf.Authorize(olga, "os_compute_api:os-services:list"))
	fmt.Println(enf.AuthorizeTarget(olga, "os_compute_api:servers:show", policy.Target{"project_id": "p1"}))
	fmt.Println(enf.AuthorizeTarget(olga, "os_compute_api:servers:show", policy.Target{"project_id": "p2"}))
	// Output:
	// <nil>
	// <nil>
	// 403 forbidden: Policy doesn't allow os_compute_api:servers:show to be performed.
}

func ExampleParse() {
	c, err := policy.Parse("role:admin or role:member and project_id:%(project_id)s")
	fmt.Println(c)
	_, err = policy.Parse("role:admin or")
	fmt.Println(err)
	// Output:
	// (role:admin or (role:member and project_id:%(project_id)s))
	// policy rule "role:admin or": cannot be reduced to one check (unbalanced parentheses, a dangling and/or/not, or a quoted string)
}
