package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/testenv"
)

// refereeCase is one question put to Python's oslo.policy and to gonova.
type refereeCase struct {
	Rule   string            `json:"rule"`
	Rules  map[string]string `json:"rules,omitempty"`
	Creds  map[string]any    `json:"creds"`
	Target map[string]any    `json:"target"`
}

type refereeAnswer struct {
	Str        string `json:"str"`
	ParseError bool   `json:"parse_error"`
	Result     any    `json:"result"` // true, false or "error"
	Error      string `json:"error"`
}

// askOslo runs testdata/oslo_referee.py over cases.
func askOslo(t *testing.T, cases []refereeCase) []refereeAnswer {
	t.Helper()
	testenv.RequirePython(t, "oslo_policy", "python3-oslo.policy")
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(testenv.PythonPath, "testdata/oslo_referee.py")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oslo referee: %v: %s", err, stderr.String())
	}
	var answers []refereeAnswer
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a refereeAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("referee line %q: %v", sc.Text(), err)
		}
		answers = append(answers, a)
	}
	if len(answers) != len(cases) {
		t.Fatalf("referee answered %d of %d cases: %s", len(answers), len(cases), stderr.String())
	}
	return answers
}

// refRuleSet holds rules as the other named rules, "default" the fallback.
func refRuleSet(rules map[string]string) *ruleSet {
	rs := &ruleSet{rules: map[string]Check{}, defaultRule: DefaultRuleName}
	for k, v := range rules {
		c, _ := Parse(v)
		rs.rules[k] = c
	}
	return rs
}

// goEval evaluates rule as oslo's Enforcer.enforce does with a Check
// object; failed reports that gonova refused because a check in it is one
// gonova does not evaluate (see doc.go), where oslo may have evaluated it.
func goEval(rule Check, rs *ruleSet, target Target, creds Credentials) (ok, failed bool) {
	e := &evaluation{target: target, creds: creds, rs: rs}
	ok = e.decide(rule)
	return ok, e.failed
}

// pyJSON decodes JSON as Python's json module does: integers stay integers.
func pyJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return fixNumbers(m).(map[string]any)
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fixNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fixNumbers(e)
		}
	}
	return v
}

var (
	member = map[string]any{"user_id": "alice", "project_id": "p1", "roles": []any{"member", "reader"},
		"is_admin": false, "domain_id": nil, "system_scope": nil, "user_domain_id": "default"}
	admin = map[string]any{"user_id": "admin", "project_id": "p2", "roles": []any{"Admin"},
		"is_admin": true, "domain_id": nil, "system_scope": nil}
	system = map[string]any{"user_id": "ops", "project_id": nil, "roles": []any{"reader"},
		"is_admin": false, "system_scope": "all", "nested": map[string]any{"key": "v", "list": []any{map[string]any{"k": 1}, "x"}}}
	bare  = map[string]any{}
	ownP1 = map[string]any{"project_id": "p1", "user_id": "alice", "one": 1, "flt": 2.5, "enabled": true,
		"none": nil, "name": "Member", "role.name": "reader", "target.project.id": "p1"}
	otherP = map[string]any{"project_id": "p9", "user_id": "bob"}
)

// TestOsloReferee puts hand-written rules, then random ones, to Debian's
// python3-oslo.policy and checks that gonova parses each to the same tree
// (oslo's str()), flags the same rules as not understood, and decides the
// same for several callers and targets. Where oslo raises (a check it
// cannot evaluate), gonova must refuse.
func TestOsloReferee(t *testing.T) {
	rules := []string{
		"", "  ", "@", "!", "role:admin", "role:ADMIN", "role:%(name)s", "role:%(missing)s",
		"project_id:%(project_id)s", "user_id:%(user_id)s", "is_admin:True", "is_admin:False",
		"True:%(enabled)s", "'Member':%(name)s", `"Member":%(name)s`, "1:%(one)s", "2.5:%(flt)s",
		"None:%(none)s", "roles:member", "roles:Member", "system_scope:all", "domain_id:None",
		"nested.key:v", "nested.list.k:1", "nested.list:x", "nested.missing:v", "user_id.x:y",
		"project_id:%(target.project.id)s", "role:%(role.name)s",
		"rule:admin_or_owner", "rule:missing", "rule:default_missing",
		"role:admin or (role:member and project_id:%(project_id)s)",
		"role:admin or role:member and project_id:%(project_id)s or role:reader",
		"not role:admin", "not not role:admin", "NOT role:admin AND role:member", "role:a Or role:member",
		"(role:admin)", "((role:admin))", "(role:admin or role:member) and project_id:%(project_id)s",
		"role:x or (role:member and role:reader) and project_id:%(project_id)s",
		"(role:x or", "role:x)", "and", "(", ")", "role:admin and", "or role:admin", "not",
		"foo", "role:admin or foo", `"a:b"`, `("a:b")`, `("a:b" or role:admin)`, "'x'",
		"project_id:%(project_id)s%%", "project_id:%s", "project_id:%(project_id)d", "project_id:%",
		"a:b:c", ":x", "x:", "@ and !", "! or @", "role:admin\tor\nrole:member",
		"http://example.com/policy", "rule:cycle_a", "(((role:member)) and ((not role:x)))",
	}
	named := map[string]string{
		"admin_or_owner": "is_admin:True or project_id:%(project_id)s",
		"default":        "role:reader",
		"cycle_a":        "rule:cycle_b", "cycle_b": "rule:cycle_a",
	}
	rng := rand.New(rand.NewPCG(13, 26))
	for range 3000 {
		rules = append(rules, randomRule(rng, 0))
	}
	callers := []map[string]any{member, admin, system, bare}
	targets := []map[string]any{ownP1, otherP, {}}
	var cases []refereeCase
	for i, r := range rules {
		ns := named
		if i%3 == 1 {
			ns = nil // no "default": missing rules fail
		}
		for j, c := range callers {
			cases = append(cases, refereeCase{Rule: r, Rules: ns, Creds: c, Target: targets[(i+j)%len(targets)]})
		}
	}
	answers := askOslo(t, cases)
	// The callers and targets as Python's json module decodes them, in the
	// order the cases cycle through them.
	type pair struct{ target, creds map[string]any }
	var converted []pair
	for i := range len(callers) * len(targets) {
		converted = append(converted, pair{pyJSON(t, cases[i].Target), pyJSON(t, cases[i].Creds)})
	}
	withNamed, withoutNamed := refRuleSet(named), refRuleSet(nil)
	fails, stricter := 0, 0
	for i, c := range cases {
		a := answers[i]
		got, err := Parse(c.Rule)
		gotStr := osloString(got)
		if a.Str == "<not a check>" {
			if err == nil {
				t.Errorf("%q: oslo cannot use it; gonova parsed %q without an error", c.Rule, gotStr)
				fails++
			}
			continue
		}
		if gotStr != a.Str {
			t.Errorf("%q: gonova renders %q, oslo %q", c.Rule, gotStr, a.Str)
			fails++
		}
		if (err != nil) != a.ParseError {
			t.Errorf("%q: gonova error %v, oslo logged a parse error: %v", c.Rule, err, a.ParseError)
			fails++
		}
		target, creds := converted[i%len(converted)].target, converted[i%len(converted)].creds
		rs := withNamed
		if c.Rules == nil {
			rs = withoutNamed
		}
		res, failed := goEval(got, rs, target, creds)
		switch a.Result {
		case true, false:
			if res != a.Result && a.Result == true && failed {
				stricter++ // gonova refuses a check it does not evaluate
				continue
			}
			if res != a.Result {
				t.Errorf("%q creds=%v target=%v rules=%v: gonova %v, oslo %v", c.Rule, c.Creds, c.Target, c.Rules != nil, res, a.Result)
				fails++
			}
		default:
			if res {
				t.Errorf("%q creds=%v target=%v: oslo raised (%s), gonova allowed", c.Rule, c.Creds, c.Target, a.Error)
				fails++
			}
		}
		if fails > 30 {
			t.Fatal("too many disagreements")
		}
	}
	t.Logf("%d cases agree with python3-oslo.policy; in %d more gonova refuses where oslo allows, "+
		"because a check in the rule is one gonova does not evaluate", len(cases)-stricter, stricter)
	if stricter > len(cases)/5 {
		t.Errorf("gonova is stricter than oslo in %d of %d cases: the generator or the evaluator drifted", stricter, len(cases))
	}
}

// osloString renders c as oslo's str() does: String, except that a check
// reading as a quoted string is not parenthesized.
func osloString(c Check) string {
	switch x := c.(type) {
	case *KindCheck:
		return x.Kind + ":" + x.Match
	case *NotCheck:
		return "not " + osloString(x.Rule)
	case *AndCheck:
		return osloJoin(x.Rules, " and ")
	case *OrCheck:
		return osloJoin(x.Rules, " or ")
	}
	return c.String()
}

func osloJoin(rules []Check, sep string) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = osloString(r)
	}
	return "(" + strings.Join(parts, sep) + ")"
}

var refereeChecks = []string{
	"role:admin", "role:member", "role:Reader", "role:%(name)s", "project_id:%(project_id)s",
	"user_id:%(user_id)s", "is_admin:True", "is_admin:False", "True:%(enabled)s", "'Member':%(name)s",
	"rule:admin_or_owner", "rule:missing", "rule:default", "@", "!", "roles:member", "system_scope:all",
	"domain_id:None", "nested.key:v", "1:%(one)s", "foo", `"q:s"`, "a:b:c", "project_id:%(nope)s",
	"a-b:c", "lambda:x", "True.x:y", "0x1f:31", "1_0:10", "-0:0", "1e3:1000.0", "01:1", ".5:0.5",
	"project_id:%(project_id)d", "nested.key.deeper:v", "user_id.x:y", "nested.list.k:1", "x:%",
	"roles.x:y", "role:%(one)s", "is_admin:%(enabled)s", "'it''s':x", "None:None", "2.50:%(flt)s",
}

// randomRule strings checks, and/or/not in any case, and parentheses
// (attached, detached, unbalanced) together.
func randomRule(rng *rand.Rand, depth int) string {
	var parts []string
	n := 1 + rng.IntN(4)
	for i := range n {
		if i > 0 || rng.IntN(8) == 0 {
			parts = append(parts, []string{"and", "or", "AND", "Or", "and", "or", "not", "and not"}[rng.IntN(8)])
		}
		if rng.IntN(6) == 0 {
			parts = append(parts, "not")
		}
		switch {
		case depth < 3 && rng.IntN(4) == 0:
			inner := randomRule(rng, depth+1)
			switch rng.IntN(5) {
			case 0:
				parts = append(parts, "( "+inner+" )")
			case 1:
				parts = append(parts, "("+inner)
			case 2:
				parts = append(parts, inner+")")
			default:
				parts = append(parts, "("+inner+")")
			}
		default:
			parts = append(parts, refereeChecks[rng.IntN(len(refereeChecks))])
		}
	}
	sep := []string{" ", "  ", "\t", " \n"}[rng.IntN(4)]
	return strings.Join(parts, sep)
}

// TestPySpaceMatchesPython checks the tokenizer's idea of white space
// against Python's str.isspace for every code point.
func TestPySpaceMatchesPython(t *testing.T) {
	testenv.RequirePython(t, "oslo_policy", "python3-oslo.policy")
	out, err := exec.Command(testenv.PythonPath, "-c",
		"print(' '.join(str(c) for c in range(0x110000) if chr(c).isspace()))").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[rune]bool{}
	for _, f := range strings.Fields(string(out)) {
		var r rune
		fmt.Sscan(f, &r)
		want[r] = true
	}
	for r := rune(0); r < 0x110000; r++ {
		if isPySpace(r) != want[r] {
			t.Errorf("U+%04X: gonova space %v, Python %v", r, isPySpace(r), want[r])
		}
	}
}
