package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseError is a rule that oslo.policy would not understand. oslo logs it
// and refuses what the rule guards (the rule becomes "!"); Parse returns the
// same fail-closed tree together with this error, so that a policy file
// with a broken rule is refused when it is loaded instead of silently
// locking an API.
type ParseError struct {
	Rule   string // the rule as written
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("policy rule %q: %s", e.Rule, e.Reason)
}

// Parse parses a rule in oslo.policy's policy language:
//
//	role:admin or (role:member and project_id:%(project_id)s)
//	not rule:deny_all
//	@            (anyone)   !  (no one)   ""  (anyone, as oslo)
//
// and, or and not are case-insensitive; "and" binds tighter than "or", and
// "not" tightest. The tree is the one oslo.policy's parser builds, so that
// String renders what oslo's str() does. A rule that does not parse returns
// a *ParseError and the tree oslo would enforce: FalseCheck for the whole
// rule, or for the one check without a colon.
func Parse(rule string) (Check, error) {
	if rule == "" {
		return TrueCheck{}, nil
	}
	var st parseState
	var errs []error
	for _, t := range tokenize(rule) {
		if t.err != "" {
			errs = append(errs, &ParseError{Rule: rule, Reason: t.err})
		}
		st.shift(t.kind, t.value)
	}
	if len(st.values) != 1 || st.kinds[0] == "string" || st.kinds[0] == "(" ||
		st.kinds[0] == ")" || st.kinds[0] == "and" || st.kinds[0] == "or" || st.kinds[0] == "not" {
		return FalseCheck{}, &ParseError{Rule: rule, Reason: "cannot be reduced to one check (unbalanced parentheses, a dangling and/or/not, or a quoted string)"}
	}
	c := st.values[0].(Check)
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// MustParse is Parse for rules written in Go code; it panics on an error.
func MustParse(rule string) Check {
	c, err := Parse(rule)
	if err != nil {
		panic(err)
	}
	return c
}

// ParseList parses oslo's legacy list-of-lists syntax, as JSON policy files
// of old releases wrote it: the outer list is or'ed, each inner list (or
// bare string) and'ed, and each string is one check, not tokenized:
//
//	[["role:admin"], ["project_id:%(project_id)s", "role:member"]]
//
// An empty list allows anyone, a list of empty lists no one (as oslo).
func ParseList(rule []any) (Check, error) {
	if len(rule) == 0 {
		return TrueCheck{}, nil
	}
	var or []Check
	var errs []error
	for _, inner := range rule {
		var items []any
		switch x := inner.(type) {
		case string:
			if x == "" {
				continue
			}
			items = []any{x}
		case []any:
			items = x
		case []string:
			for _, s := range x {
				items = append(items, s)
			}
		default:
			errs = append(errs, &ParseError{Rule: fmt.Sprint(inner), Reason: "a list rule holds strings or lists of strings"})
			or = append(or, FalseCheck{})
			continue
		}
		if len(items) == 0 {
			continue
		}
		and := make([]Check, 0, len(items))
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				errs = append(errs, &ParseError{Rule: fmt.Sprint(it), Reason: "a list rule holds strings or lists of strings"})
				and = append(and, FalseCheck{})
				continue
			}
			c, reason := parseCheck(s)
			if reason != "" {
				errs = append(errs, &ParseError{Rule: s, Reason: reason})
			}
			and = append(and, c)
		}
		if len(and) == 1 {
			or = append(or, and[0])
		} else {
			or = append(or, &AndCheck{Rules: and})
		}
	}
	var c Check
	switch len(or) {
	case 0:
		c = FalseCheck{}
	case 1:
		c = or[0]
	default:
		c = &OrCheck{Rules: or}
	}
	return c, errors.Join(errs...)
}

// parseCheck is oslo's _parse_check: one "kind:match" token.
func parseCheck(s string) (Check, string) {
	switch s {
	case "!":
		return FalseCheck{}, ""
	case "@":
		return TrueCheck{}, ""
	}
	kind, match, ok := strings.Cut(s, ":")
	if !ok {
		return FalseCheck{}, fmt.Sprintf("check %q has no colon (kind:match)", s)
	}
	return &KindCheck{Kind: kind, Match: match}, ""
}

type token struct {
	kind  string // "(", ")", "and", "or", "not", "string", "check"
	value any
	err   string
}

// isPySpace is Python's str.isspace(), which re's \s follows: Unicode
// white space plus the separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// tokenize is oslo's _parse_tokenize.
func tokenize(rule string) []token {
	var out []token
	for _, tok := range splitSpace(rule) {
		clean := strings.TrimLeft(tok, "(")
		for i := 0; i < len(tok)-len(clean); i++ {
			out = append(out, token{kind: "(", value: "("})
		}
		if clean == "" {
			continue
		}
		tok = clean
		clean = strings.TrimRight(tok, ")")
		trail := len(tok) - len(clean)
		if low := asciiLower(clean); low == "and" || low == "or" || low == "not" {
			out = append(out, token{kind: low, value: clean})
		} else if clean != "" {
			if len(tok) >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[len(tok)-1] == tok[0] {
				out = append(out, token{kind: "string", value: tok[1 : len(tok)-1]})
			} else {
				c, reason := parseCheck(clean)
				out = append(out, token{kind: "check", value: c, err: reason})
			}
		}
		for i := 0; i < trail; i++ {
			out = append(out, token{kind: ")", value: ")"})
		}
	}
	return out
}

func splitSpace(s string) []string {
	var out []string
	start := -1
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			r = 0xfffd // not a space
		}
		if isPySpace(r) {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func asciiLower(s string) string {
	if len(s) > 3 {
		return ""
	}
	return strings.ToLower(s)
}

// parseState is oslo's ParseState: a greedy shift-reduce over token kinds,
// with oslo's reductions in oslo's order.
type parseState struct {
	kinds  []string
	values []any
}

type reduction struct {
	pattern []string
	reduce  func(v []any) (string, any)
}

var reductions = []reduction{
	{[]string{"(", "check", ")"}, wrap},
	{[]string{"(", "and_expr", ")"}, wrap},
	{[]string{"(", "or_expr", ")"}, wrap},
	{[]string{"check", "and", "check"}, func(v []any) (string, any) {
		return "and_expr", &AndCheck{Rules: []Check{v[0].(Check), v[2].(Check)}}
	}},
	{[]string{"or_expr", "and", "check"}, func(v []any) (string, any) {
		// "a or b and c": the and takes the last operand of the or.
		or := v[0].(*OrCheck)
		last := or.Rules[len(or.Rules)-1]
		or.Rules = or.Rules[:len(or.Rules)-1]
		if and, ok := last.(*AndCheck); ok {
			and.Rules = append(and.Rules, v[2].(Check))
			or.Rules = append(or.Rules, and)
		} else {
			or.Rules = append(or.Rules, &AndCheck{Rules: []Check{last, v[2].(Check)}})
		}
		return "or_expr", or
	}},
	{[]string{"and_expr", "and", "check"}, func(v []any) (string, any) {
		and := v[0].(*AndCheck)
		and.Rules = append(and.Rules, v[2].(Check))
		return "and_expr", and
	}},
	{[]string{"check", "or", "check"}, makeOr},
	{[]string{"and_expr", "or", "check"}, makeOr},
	{[]string{"or_expr", "or", "check"}, func(v []any) (string, any) {
		or := v[0].(*OrCheck)
		or.Rules = append(or.Rules, v[2].(Check))
		return "or_expr", or
	}},
	{[]string{"not", "check"}, func(v []any) (string, any) {
		return "check", &NotCheck{Rule: v[1].(Check)}
	}},
}

func wrap(v []any) (string, any) { return "check", v[1] }

func makeOr(v []any) (string, any) {
	return "or_expr", &OrCheck{Rules: []Check{v[0].(Check), v[2].(Check)}}
}

func (s *parseState) shift(kind string, value any) {
	s.kinds = append(s.kinds, kind)
	s.values = append(s.values, value)
	s.reduce()
}

func (s *parseState) reduce() {
	for {
		reduced := false
		for _, r := range reductions {
			n := len(r.pattern)
			if len(s.kinds) < n || !equalKinds(s.kinds[len(s.kinds)-n:], r.pattern) {
				continue
			}
			kind, value := r.reduce(s.values[len(s.values)-n:])
			s.kinds = append(s.kinds[:len(s.kinds)-n], kind)
			s.values = append(s.values[:len(s.values)-n], value)
			reduced = true
			break
		}
		if !reduced {
			return
		}
	}
}

func equalKinds(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
