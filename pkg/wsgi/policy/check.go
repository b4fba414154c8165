package policy

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// Check is one node of a parsed rule: what oslo.policy's BaseCheck
// subclasses are. Parse builds the tree; String renders it in the policy
// language, as oslo's str() does, and the rendering parses back to the same
// tree.
type Check interface {
	// String renders the check in the policy language.
	String() string
	eval(e *evaluation, depth int) bool
}

// TrueCheck always allows ("@", and the empty rule).
type TrueCheck struct{}

// FalseCheck always refuses ("!", and a rule that does not parse).
type FalseCheck struct{}

// NotCheck inverts Rule ("not rule").
type NotCheck struct{ Rule Check }

// AndCheck allows when every rule allows ("a and b").
type AndCheck struct{ Rules []Check }

// OrCheck allows when one rule allows ("a or b").
type OrCheck struct{ Rules []Check }

// KindCheck is a "kind:match" check: kind "rule" evaluates the named rule,
// "role" looks for a role of the caller, a kind registered in
// Options.Checks runs that function, and any other kind is oslo's generic
// check: the caller's credential named by kind (a dotted path; a Python
// literal such as True compares itself) must equal match, after %(key)s in
// match is replaced from the target.
type KindCheck struct{ Kind, Match string }

func (TrueCheck) String() string  { return "@" }
func (FalseCheck) String() string { return "!" }
func (c *NotCheck) String() string {
	return "not " + c.Rule.String()
}
func (c *AndCheck) String() string { return joinChecks(c.Rules, " and ") }
func (c *OrCheck) String() string  { return joinChecks(c.Rules, " or ") }

// String is "kind:match", as oslo writes it; a check that would read as a
// quoted string token ("'a:b'") is parenthesized so that it parses back.
func (c *KindCheck) String() string {
	s := c.Kind + ":" + c.Match
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return "(" + s + ")"
	}
	return s
}

func joinChecks(rules []Check, sep string) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// maxDepth bounds rule references followed in one evaluation: a cycle
// ("a": "rule:b", "b": "rule:a") refuses instead of recursing forever.
const maxDepth = 64

// Target describes the object acted on: nova passes {"project_id": the
// instance's project, "user_id": ...}. Keys are looked up whole by
// %(key)s; use Flatten for nested targets.
type Target map[string]any

// Credentials describe the caller, as oslo.context's to_policy_values:
// user_id, project_id, roles, system_scope, domain_id ... (see
// CredentialsOf). Values are strings, bools, nil (Python's None), lists
// ([]string or []any) and nested maps (map[string]any).
type Credentials map[string]any

// CheckFunc decides a "kind:match" check for a kind registered in
// Options.Checks. match has not been substituted.
type CheckFunc func(match string, target Target, creds Credentials) bool

type evaluation struct {
	target Target
	creds  Credentials
	rs     *ruleSet
	// caller is the auth.Context behind creds, for Go rules (New).
	caller *auth.Context
	// onMissing is told about a rule:name that names no rule.
	onMissing func(name string)
	// onDepth is told when maxDepth stops an evaluation.
	onDepth func()
	// failed is set by a check that oslo.policy could not evaluate (it
	// raises): the whole decision is then a refusal, even under a "not".
	failed bool
	reason string
}

// fail marks the evaluation as one oslo would have aborted with an
// exception, and returns false.
func (e *evaluation) fail(reason string) bool {
	if !e.failed {
		e.failed, e.reason = true, reason
	}
	return false
}

// decide evaluates c: false when any check failed.
func (e *evaluation) decide(c Check) bool {
	ok := c.eval(e, 0)
	return ok && !e.failed
}

func (TrueCheck) eval(*evaluation, int) bool  { return true }
func (FalseCheck) eval(*evaluation, int) bool { return false }
func (c *NotCheck) eval(e *evaluation, d int) bool {
	return !c.Rule.eval(e, d)
}

func (c *AndCheck) eval(e *evaluation, d int) bool {
	for _, r := range c.Rules {
		if !r.eval(e, d) {
			return false
		}
	}
	return true
}

func (c *OrCheck) eval(e *evaluation, d int) bool {
	for _, r := range c.Rules {
		if r.eval(e, d) {
			return true
		}
	}
	return false
}

func (c *KindCheck) eval(e *evaluation, d int) bool {
	switch {
	case c.Kind == "rule":
		if d >= maxDepth {
			if e.onDepth != nil {
				e.onDepth()
			}
			return e.fail("rule references nest deeper than 64 (a cycle?)")
		}
		r, ok := e.rs.lookup(c.Match)
		if !ok {
			if e.onMissing != nil {
				e.onMissing(c.Match)
			}
			return false
		}
		return r.eval(e, d+1)
	case e.rs != nil && e.rs.checks[c.Kind] != nil:
		return e.rs.checks[c.Kind](c.Match, e.target, e.creds)
	case c.Kind == "role":
		match, ok := substitute(e, c.Match)
		if !ok {
			return false
		}
		roles, ok := e.creds["roles"]
		if !ok {
			return false
		}
		switch roles.(type) {
		case []string, []any:
		default:
			return e.fail("credential roles is not a list")
		}
		want := pyLower(match)
		found := false
		eachString(roles, func(r string) {
			if pyLower(r) == want {
				found = true
			}
		})
		return found
	}
	match, ok := substitute(e, c.Match)
	if !ok {
		return false
	}
	if lit, ok := pyLiteral(c.Kind); ok {
		return match == lit
	}
	if !pyPath.MatchString(c.Kind) || hasKeyword(c.Kind) {
		// ast.literal_eval raises SyntaxError for most such kinds; gonova
		// does not guess which would have been a path.
		return e.fail(fmt.Sprintf("check kind %q is neither a Python literal nor a dotted name", c.Kind))
	}
	return findIn(e, map[string]any(e.creds), strings.Split(c.Kind, "."), match)
}

// pyPath is a dotted Python name, which ast.literal_eval refuses with
// ValueError and oslo then reads as a path into the credentials.
var pyPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$`)

var pyKeywords = map[string]bool{
	"and": true, "as": true, "assert": true, "async": true, "await": true, "break": true,
	"class": true, "continue": true, "def": true, "del": true, "elif": true, "else": true,
	"except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true,
	"or": true, "pass": true, "raise": true, "return": true, "try": true, "while": true,
	"with": true, "yield": true,
}

func hasKeyword(path string) bool {
	for _, seg := range strings.Split(path, ".") {
		if pyKeywords[seg] {
			return true
		}
	}
	return false
}

// findIn is oslo's GenericCheck._find_in_dict: follow path through nested
// maps; at a list, any element may match the rest of the path.
func findIn(e *evaluation, v any, path []string, match string) bool {
	if len(path) == 0 {
		return match == pyStr(v)
	}
	var next any
	switch m := v.(type) {
	case map[string]any:
		x, ok := m[path[0]]
		if !ok {
			return false
		}
		next = x
	case Credentials:
		return findIn(e, map[string]any(m), path, match)
	case Target:
		return findIn(e, map[string]any(m), path, match)
	case map[string]string:
		x, ok := m[path[0]]
		if !ok {
			return false
		}
		next = x
	default:
		// Python raises TypeError indexing a str, a number or None.
		return e.fail(fmt.Sprintf("credential path reaches a %T before %q", v, path[0]))
	}
	rest := path[1:]
	switch l := next.(type) {
	case []any:
		for _, x := range l {
			if findIn(e, x, rest, match) {
				return true
			}
		}
		return false
	case []string:
		for _, x := range l {
			if findIn(e, x, rest, match) {
				return true
			}
		}
		return false
	}
	return findIn(e, next, rest, match)
}

func eachString(v any, f func(string)) {
	switch l := v.(type) {
	case []string:
		for _, s := range l {
			f(s)
		}
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				f(s)
			}
		}
	}
}

// substitute is Python's match % target for the forms policies use:
// %(key)s takes str(target[key]) and %% is a percent sign. A missing key
// fails the check (oslo catches the KeyError); any other conversion fails
// the evaluation (Python would format it or raise; gonova does neither).
func substitute(e *evaluation, match string) (string, bool) {
	target := e.target
	if !strings.Contains(match, "%") {
		return match, true
	}
	var b strings.Builder
	for i := 0; i < len(match); i++ {
		ch := match[i]
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		i++
		if i >= len(match) {
			return "", e.fail("incomplete format in " + strconv.Quote(match))
		}
		switch match[i] {
		case '%':
			b.WriteByte('%')
			continue
		case '(':
		default:
			return "", e.fail("unsupported format in " + strconv.Quote(match))
		}
		// Python's key runs to the matching parenthesis.
		depth, start := 1, i+1
		j := start
		for ; j < len(match) && depth > 0; j++ {
			switch match[j] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		if depth != 0 {
			return "", e.fail("incomplete format in " + strconv.Quote(match))
		}
		key := match[start : j-1]
		v, ok := target[key]
		if !ok {
			return "", false
		}
		if j >= len(match) || match[j] != 's' {
			return "", e.fail("unsupported format in " + strconv.Quote(match))
		}
		b.WriteString(pyStr(v))
		i = j
	}
	return b.String(), true
}

// pyStr is Python's str() of a value decoded from JSON or YAML or set by Go
// code, as far as policies compare them.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case uint:
		return strconv.FormatUint(uint64(x), 10)
	case float64:
		return pyFloat(x)
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = pyRepr(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = pyRepr(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
			return `"` + s + `"`
		}
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return pyStr(v)
}

// pyFloat is Python's repr of a float: the shortest digits, in positional
// notation for exponents -4..15.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

var (
	pyDecimal = regexp.MustCompile(`^[+-]?(?:[1-9](?:_?[0-9])*|0(?:_?0)*)$`)
	pyPrefix  = regexp.MustCompile(`^[+-]?0(?:[xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)$`)
	pyFloatRe = regexp.MustCompile(`^[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+)$`)
)

// pyLiteral is str(ast.literal_eval(kind)) for the literals a generic
// check's kind is meant to hold: True, False, None, integers, floats and
// plain quoted strings. Other kinds are credential paths. (Python also
// evaluates containers, complex numbers and escaped or prefixed strings;
// gonova treats those as paths, which match nothing.)
func pyLiteral(kind string) (string, bool) {
	switch kind {
	case "True", "False", "None":
		return kind, true
	case "":
		return "", false
	}
	if pyDecimal.MatchString(kind) || pyPrefix.MatchString(kind) {
		s := strings.ReplaceAll(kind, "_", "")
		neg := false
		switch s[0] {
		case '-':
			neg, s = true, s[1:]
		case '+':
			s = s[1:]
		}
		n, ok := new(big.Int).SetString(s, 0)
		if !ok {
			return "", false
		}
		if neg {
			n.Neg(n)
		}
		return n.String(), true
	}
	if pyFloatRe.MatchString(kind) {
		f, err := strconv.ParseFloat(kind, 64)
		if err != nil && !math.IsInf(f, 0) {
			return "", false
		}
		return pyFloat(f), true
	}
	if q := kind[0]; len(kind) >= 2 && (q == '\'' || q == '"') && kind[len(kind)-1] == q {
		body := kind[1 : len(kind)-1]
		if !strings.ContainsAny(body, "\\\n\r") && !strings.ContainsRune(body, rune(q)) {
			return body, true
		}
	}
	return "", false
}

// pyLower is Python's str.lower() for the characters role names use.
func pyLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.Map(unicode.ToLower, s)
		}
	}
	return strings.ToLower(s)
}
