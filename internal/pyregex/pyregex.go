// Package pyregex reads a regular expression as Python's re module does and
// rewrites it twice: as a Go regexp (RE2) and as a Postgres advanced regular
// expression for the `~` operator, both matching the same strings.
//
// # Why
//
// nova's server list filters (name, node, ...) are Python regular
// expressions: nova's schema refuses a value that re.compile refuses, and the
// database then matches it with re.search semantics (unanchored). gonova
// runs the same filter in Postgres (`display_name ~ $1`) and in its
// in-memory store (Go's regexp), and the two must agree with each other and
// with Python. Passing the user's text straight to either engine would not:
// Python's `\b` is Postgres's backspace, `.` matches a newline in Postgres
// and not in Python, `\Z` is `\z` in Go, `(?i)` may be scoped in Python and
// not in Postgres, and a text Postgres cannot compile becomes a 500.
//
// So Compile parses Python's syntax itself and emits only a small, explicit
// subset of each engine's syntax: literals as code-point escapes, classes
// as explicit ranges (case-insensitivity expanded into the classes, so
// neither engine sees a flag), groups as non-capturing groups. A text
// Python refuses is a *SyntaxError; a valid Python construct that one of
// the engines cannot run equivalently (back-references, lookaround,
// conditionals, atomic groups, possessive quantifiers, \N{...}, counts
// above 255) is an *UnsupportedError. Go's RE2 never backtracks, and the
// emitted Postgres text has no back-references, so neither engine can be
// made to run in exponential time.
//
//	re, err := pyregex.Compile(`^web-\d+$`)
//	re.MatchString("web-12")                      // the in-memory store
//	pool.Query(ctx, `... WHERE display_name ~ $1`, re.Postgres()) // Postgres
//
// # Where it differs from Python
//
//   - `\b` and `\B` are ASCII word boundaries (Python's are Unicode ones
//     unless the ASCII flag is set): RE2 has no Unicode boundary.
//   - `$` without MULTILINE matches only at the very end; Python also
//     matches before a final newline. Server names cannot contain a newline
//     (nova's name rules refuse control characters).
//   - Case-insensitive matching uses Unicode simple case folding (Go's
//     unicode.SimpleFold); Python's tables may differ for a few code points.
//
// # Logging and metrics
//
// None.
package pyregex

import (
	"fmt"
	"regexp"
	"strings"
)

// Regex is a compiled Python regular expression.
type Regex struct {
	source string
	goRE   *regexp.Regexp
	pg     string
}

// SyntaxError is a pattern Python's re.compile refuses.
type SyntaxError struct {
	Pattern string
	Pos     int
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at position %d", e.Msg, e.Pos)
}

// UnsupportedError is a valid Python pattern using a construct gonova cannot
// run the same way in both engines.
type UnsupportedError struct {
	Pattern string
	Feature string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("regular expressions with %s are not supported in gonova's filters", e.Feature)
}

// Compile parses pattern as Python 3.11's re does (a str pattern).
func Compile(pattern string) (*Regex, error) {
	p := &parser{src: []rune(pattern), pattern: pattern}
	if err := p.parse(); err != nil {
		return nil, err
	}
	goRE, err := regexp.Compile(p.goOut.String())
	if err != nil {
		return nil, &UnsupportedError{Pattern: pattern, Feature: "this size or nesting of repetitions"}
	}
	return &Regex{source: pattern, goRE: goRE, pg: p.pgOut.String()}, nil
}

// MustCompile is Compile for patterns known to be valid; it panics
// otherwise.
func MustCompile(pattern string) *Regex {
	re, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return re
}

// String returns the Python pattern.
func (r *Regex) String() string { return r.source }

// MatchString reports whether re.search(pattern, s) would find a match.
func (r *Regex) MatchString(s string) bool { return r.goRE.MatchString(s) }

// Postgres returns the pattern for Postgres's `~` operator (an advanced
// regular expression with no embedded options): pass it as a parameter.
func (r *Regex) Postgres() string { return r.pg }

// GoRegexp returns the equivalent Go regexp.
func (r *Regex) GoRegexp() *regexp.Regexp { return r.goRE }

// maxRepeat is Postgres's DUPMAX: the largest count in {m,n}.
const maxRepeat = 255

type flags struct {
	i, m, s, x, a bool
}

type parser struct {
	src     []rune
	pos     int
	pattern string
	groups  int
	goOut   strings.Builder
	pgOut   strings.Builder
}

func (p *parser) syntax(pos int, format string, args ...any) error {
	return &SyntaxError{Pattern: p.pattern, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unsupported(feature string) error {
	return &UnsupportedError{Pattern: p.pattern, Feature: feature}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() rune {
	if p.eof() {
		return -1
	}
	return p.src[p.pos]
}

func (p *parser) peekAt(i int) rune {
	if p.pos+i >= len(p.src) {
		return -1
	}
	return p.src[p.pos+i]
}

func (p *parser) parse() error {
	f := flags{}
	// Global flags: only at the very start (Python 3.11).
	for p.peek() == '(' && p.peekAt(1) == '?' && isFlagChar(p.peekAt(2)) {
		save := p.pos
		p.pos += 2
		on, off, err := p.readFlags()
		if err != nil {
			return err
		}
		if p.peek() == ':' || off != (flags{}) {
			p.pos = save // a scoped group: parsed by the body
			break
		}
		if p.peek() != ')' {
			return p.syntax(p.pos, "missing -, : or )")
		}
		p.pos++
		f = merge(f, on, flags{})
	}
	n, err := p.alternation(f, 0)
	if err != nil {
		return err
	}
	if !p.eof() {
		return p.syntax(p.pos, "unbalanced parenthesis")
	}
	p.goOut.WriteString(n.goText)
	p.pgOut.WriteString(n.pgText)
	return nil
}

func isFlagChar(r rune) bool { return strings.ContainsRune("aiLmsux-", r) }

// readFlags reads "aiLmsux" letters, optionally "-" and more, leaving the
// position at ':' or ')'.
func (p *parser) readFlags() (on, off flags, err error) {
	start := p.pos
	target := &on
	seenDash := false
	var uni bool
	for !p.eof() {
		c := p.peek()
		switch c {
		case 'i':
			target.i = true
		case 'm':
			target.m = true
		case 's':
			target.s = true
		case 'x':
			target.x = true
		case 'a':
			if seenDash {
				return on, off, p.syntax(p.pos, "bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
			}
			target.a = true
		case 'u':
			if seenDash {
				return on, off, p.syntax(p.pos, "bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
			}
			uni = true
		case 'L':
			return on, off, p.syntax(p.pos+1, "bad inline flags: cannot use 'L' flag with a str pattern")
		case '-':
			if seenDash {
				return on, off, p.syntax(p.pos, "bad inline flags")
			}
			seenDash = true
			target = &off
		default:
			if on.a && uni {
				return on, off, p.syntax(p.pos, "bad inline flags: flags 'a', 'u' and 'L' are incompatible")
			}
			if (on.i && off.i) || (on.m && off.m) || (on.s && off.s) || (on.x && off.x) {
				return on, off, p.syntax(p.pos, "bad inline flags: flag turned on and off")
			}
			if seenDash && off == (flags{}) {
				return on, off, p.syntax(p.pos, "missing flag")
			}
			if c != ':' && c != ')' {
				return on, off, p.syntax(p.pos, "missing -, : or )")
			}
			if c == ')' && seenDash {
				return on, off, p.syntax(p.pos, "missing :")
			}
			return on, off, nil
		}
		p.pos++
	}
	return on, off, p.syntax(start, "missing -, : or )")
}

func merge(f, on, off flags) flags {
	f.i = (f.i || on.i) && !off.i
	f.m = (f.m || on.m) && !off.m
	f.s = (f.s || on.s) && !off.s
	f.x = (f.x || on.x) && !off.x
	f.a = f.a || on.a
	return f
}

// node is an emitted piece in both syntaxes.
type node struct {
	goText, pgText string
	repeatable     bool // an atom a quantifier may follow
}

func (p *parser) alternation(f flags, depth int) (node, error) {
	var goParts, pgParts []string
	for {
		n, err := p.sequence(f, depth)
		if err != nil {
			return node{}, err
		}
		goParts = append(goParts, n.goText)
		pgParts = append(pgParts, n.pgText)
		if p.peek() != '|' {
			break
		}
		p.pos++
	}
	if len(goParts) == 1 {
		return node{goText: goParts[0], pgText: pgParts[0]}, nil
	}
	return node{goText: strings.Join(goParts, "|"), pgText: strings.Join(pgParts, "|")}, nil
}

func (p *parser) skipVerbose(f flags) {
	if !f.x {
		return
	}
	for !p.eof() {
		c := p.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			p.pos++
		case c == '#':
			for !p.eof() && p.peek() != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *parser) sequence(f flags, depth int) (node, error) {
	var gb, pb strings.Builder
	for {
		p.skipVerbose(f)
		if p.eof() || p.peek() == '|' || p.peek() == ')' {
			break
		}
		atom, err := p.atom(f, depth)
		if err != nil {
			return node{}, err
		}
		p.skipVerbose(f)
		q, qpos, ok, err := p.quantifier()
		if err != nil {
			return node{}, err
		}
		if ok {
			if !atom.repeatable {
				return node{}, p.syntax(qpos, "nothing to repeat")
			}
			atom = node{goText: "(?:" + atom.goText + ")" + q, pgText: "(?:" + atom.pgText + ")" + q}
			p.skipVerbose(f)
			if _, qpos2, again, err := p.quantifier(); err != nil {
				return node{}, err
			} else if again {
				return node{}, p.syntax(qpos2, "multiple repeat")
			}
		}
		gb.WriteString(atom.goText)
		pb.WriteString(atom.pgText)
	}
	return node{goText: gb.String(), pgText: pb.String()}, nil
}

// quantifier reads *, +, ?, {m}, {m,}, {,n} or {m,n}, with an optional
// lazy '?'. It returns the canonical greedy form: for a match/no-match test
// laziness changes nothing.
func (p *parser) quantifier() (string, int, bool, error) {
	start := p.pos
	var q string
	switch p.peek() {
	case '*':
		q = "*"
		p.pos++
	case '+':
		q = "+"
		p.pos++
	case '?':
		q = "?"
		p.pos++
	case '{':
		lo, hi, n, ok := p.braces()
		if !ok {
			return "", start, false, nil
		}
		if lo >= 0 && hi >= 0 && hi < lo {
			return "", start + 1, false, p.syntax(start+1, "min repeat greater than max repeat")
		}
		if lo > maxRepeat || hi > maxRepeat {
			return "", start, false, p.unsupported(fmt.Sprintf("a repetition count above %d", maxRepeat))
		}
		if lo < 0 {
			lo = 0
		}
		if hi < 0 {
			q = fmt.Sprintf("{%d,}", lo)
		} else {
			q = fmt.Sprintf("{%d,%d}", lo, hi)
		}
		p.pos += n
	default:
		return "", start, false, nil
	}
	switch p.peek() {
	case '?':
		p.pos++
	case '+':
		return "", start, false, p.unsupported("possessive quantifiers")
	}
	return q, start, true, nil
}

// braces parses {m}, {m,}, {,n}, {m,n} at the position; -1 is absent. ok
// is false when the text is a literal '{'.
func (p *parser) braces() (lo, hi, n int, ok bool) {
	i := p.pos + 1
	readNum := func() (int, bool) {
		st := i
		v := 0
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			if v < 1<<30 {
				v = v*10 + int(p.src[i]-'0')
			}
			i++
		}
		return v, i > st
	}
	lo, hasLo := readNum()
	if !hasLo {
		lo = -1
	}
	if i < len(p.src) && p.src[i] == '}' {
		if !hasLo {
			return 0, 0, 0, false
		}
		return lo, lo, i + 1 - p.pos, true
	}
	if i >= len(p.src) || p.src[i] != ',' {
		return 0, 0, 0, false
	}
	i++
	hi, hasHi := readNum()
	if !hasHi {
		hi = -1
	}
	if i >= len(p.src) || p.src[i] != '}' {
		return 0, 0, 0, false
	}
	return lo, hi, i + 1 - p.pos, true
}

func (p *parser) atom(f flags, depth int) (node, error) {
	c := p.peek()
	switch c {
	case '(':
		return p.group(f, depth)
	case '[':
		set, err := p.class(f)
		if err != nil {
			return node{}, err
		}
		return setNode(set), nil
	case '.':
		p.pos++
		if f.s {
			return setNode(anyRune()), nil
		}
		return setNode(anyRune().subtract(single('\n'))), nil
	case '^':
		p.pos++
		if f.m {
			return node{goText: "(?m:^)", pgText: `(?:^|(?<=\n))`}, nil
		}
		return node{goText: `\A`, pgText: `^`}, nil
	case '$':
		p.pos++
		if f.m {
			return node{goText: "(?m:$)", pgText: `(?:$|(?=\n))`}, nil
		}
		return node{goText: `\z`, pgText: `$`}, nil
	case '*', '+', '?':
		return node{}, p.syntax(p.pos, "nothing to repeat")
	case '{':
		if _, _, _, ok := p.braces(); ok {
			return node{}, p.syntax(p.pos, "nothing to repeat")
		}
		p.pos++
		return literalNode('{', f), nil
	case '\\':
		return p.escape(f)
	}
	p.pos++
	return literalNode(c, f), nil
}

func (p *parser) group(f flags, depth int) (node, error) {
	start := p.pos
	if depth > 100 {
		return node{}, p.unsupported("groups nested this deep")
	}
	p.pos++ // (
	inner := f
	if p.peek() == '?' {
		p.pos++
		switch c := p.peek(); {
		case c == ':':
			p.pos++
		case c == 'P':
			p.pos++
			switch p.peek() {
			case '<':
				p.pos++
				nameStart := p.pos
				for !p.eof() && p.peek() != '>' {
					p.pos++
				}
				if p.eof() {
					return node{}, p.syntax(nameStart, "missing >, unterminated name")
				}
				name := string(p.src[nameStart:p.pos])
				if !isIdentifier(name) {
					if name == "" {
						return node{}, p.syntax(nameStart, "missing group name")
					}
					return node{}, p.syntax(nameStart, "bad character in group name %q", name)
				}
				p.pos++
				p.groups++
			case '=':
				return node{}, p.unsupported("back-references")
			default:
				return node{}, p.syntax(p.pos, "unknown extension ?P%c", p.peek())
			}
		case c == '#':
			for !p.eof() && p.peek() != ')' {
				p.pos++
			}
			if p.eof() {
				return node{}, p.syntax(start, "missing ), unterminated comment")
			}
			p.pos++
			return node{}, nil
		case c == '=' || c == '!':
			return node{}, p.unsupported("lookahead")
		case c == '<':
			if n := p.peekAt(1); n == '=' || n == '!' {
				return node{}, p.unsupported("lookbehind")
			}
			return node{}, p.syntax(p.pos, "unknown extension ?<%c", p.peekAt(1))
		case c == '>':
			return node{}, p.unsupported("atomic groups")
		case c == '(':
			return node{}, p.unsupported("conditional groups")
		case isFlagChar(c):
			on, off, err := p.readFlags()
			if err != nil {
				return node{}, err
			}
			if p.peek() == ')' {
				return node{}, p.syntax(start, "global flags not at the start of the expression")
			}
			p.pos++ // ':'
			inner = merge(f, on, off)
		case c == -1:
			return node{}, p.syntax(p.pos, "unexpected end of pattern")
		default:
			return node{}, p.syntax(p.pos, "unknown extension ?%c", c)
		}
	} else {
		p.groups++
	}
	n, err := p.alternation(inner, depth+1)
	if err != nil {
		return node{}, err
	}
	if p.peek() != ')' {
		return node{}, p.syntax(start, "missing ), unterminated subpattern")
	}
	p.pos++
	return node{goText: "(?:" + n.goText + ")", pgText: "(?:" + n.pgText + ")", repeatable: true}, nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r > 127 && isLetter(r)) {
			continue
		}
		if i > 0 && ((r >= '0' && r <= '9') || (r > 127 && isDigit(r))) {
			continue
		}
		return false
	}
	return true
}

// escape reads a backslash escape outside a class.
func (p *parser) escape(f flags) (node, error) {
	start := p.pos
	p.pos++
	if p.eof() {
		return node{}, p.syntax(start, "bad escape (end of pattern)")
	}
	c := p.peek()
	switch c {
	case 'A':
		p.pos++
		return node{goText: `\A`, pgText: `\A`}, nil
	case 'Z':
		p.pos++
		return node{goText: `\z`, pgText: `\Z`}, nil
	case 'b':
		p.pos++
		return node{goText: `\b`, pgText: `(?:(?<=[0-9A-Z_a-z])(?![0-9A-Z_a-z])|(?<![0-9A-Z_a-z])(?=[0-9A-Z_a-z]))`}, nil
	case 'B':
		p.pos++
		return node{goText: `\B`, pgText: `(?:(?<=[0-9A-Z_a-z])(?=[0-9A-Z_a-z])|(?<![0-9A-Z_a-z])(?![0-9A-Z_a-z]))`}, nil
	case 'd', 'D', 's', 'S', 'w', 'W':
		p.pos++
		return setNode(shorthand(c, f)), nil
	}
	if c >= '1' && c <= '9' || c == '0' {
		r, isRef, n, err := p.digitEscape(start)
		if err != nil {
			return node{}, err
		}
		if isRef {
			if n > p.groups {
				return node{}, p.syntax(start+1, "invalid group reference %d", n)
			}
			return node{}, p.unsupported("back-references")
		}
		return literalNode(r, f), nil
	}
	r, err := p.charEscape(start, false)
	if err != nil {
		return node{}, err
	}
	return literalNode(r, f), nil
}

// digitEscape reads \0oo, \ooo (octal) or \N (a group reference).
func (p *parser) digitEscape(start int) (r rune, isRef bool, ref int, err error) {
	isOct := func(c rune) bool { return c >= '0' && c <= '7' }
	c := p.peek()
	if c == '0' {
		p.pos++
		v := 0
		for k := 0; k < 2 && isOct(p.peek()); k++ {
			v = v*8 + int(p.peek()-'0')
			p.pos++
		}
		return rune(v), false, 0, nil
	}
	if isOct(c) && isOct(p.peekAt(1)) && isOct(p.peekAt(2)) {
		v := int(c-'0')*64 + int(p.peekAt(1)-'0')*8 + int(p.peekAt(2)-'0')
		if v > 0o377 {
			return 0, false, 0, p.syntax(start, "octal escape value \\%s outside of range 0-0o377", string(p.src[p.pos:p.pos+3]))
		}
		p.pos += 3
		return rune(v), false, 0, nil
	}
	n := int(c - '0')
	p.pos++
	if d := p.peek(); d >= '0' && d <= '9' {
		n = n*10 + int(d-'0')
		p.pos++
	}
	return 0, true, n, nil
}

// charEscape reads an escape standing for one character (after the
// backslash, at the position).
func (p *parser) charEscape(start int, inClass bool) (rune, error) {
	c := p.peek()
	p.pos++
	switch c {
	case 'a':
		return '\a', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'v':
		return '\v', nil
	case 'b':
		if inClass {
			return '\b', nil
		}
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
		v := 0
		for k := 0; k < n; k++ {
			d := hexVal(p.peek())
			if d < 0 {
				return 0, p.syntax(start, "incomplete escape \\%c%s", c, string(p.src[start+2:p.pos]))
			}
			v = v*16 + d
			p.pos++
		}
		if v > 0x10FFFF {
			return 0, p.syntax(start, "bad escape \\%s", string(p.src[start+1:p.pos]))
		}
		return rune(v), nil
	case 'N':
		return 0, p.unsupported(`\N{...} named characters`)
	}
	if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return 0, p.syntax(start, "bad escape \\%c", c)
	}
	return c, nil
}

func hexVal(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// class reads a [...] set.
func (p *parser) class(f flags) (runeSet, error) {
	start := p.pos
	p.pos++
	negate := false
	if p.peek() == '^' {
		negate = true
		p.pos++
	}
	var set runeSet
	first := true
	for {
		if p.eof() {
			return nil, p.syntax(start, "unterminated character set")
		}
		c := p.peek()
		if c == ']' && !first {
			p.pos++
			break
		}
		first = false
		itemPos := p.pos
		lo, loSet, err := p.classItem(f)
		if err != nil {
			return nil, err
		}
		if p.peek() == '-' && p.peekAt(1) != ']' && p.peekAt(1) != -1 {
			p.pos++
			hi, hiSet, err := p.classItem(f)
			if err != nil {
				return nil, err
			}
			if loSet != nil || hiSet != nil {
				return nil, p.syntax(itemPos, "bad character range %s", string(p.src[itemPos:p.pos]))
			}
			if hi < lo {
				return nil, p.syntax(itemPos, "bad character range %s", string(p.src[itemPos:p.pos]))
			}
			set = set.union(runeSet{{lo, hi}})
			continue
		}
		if loSet != nil {
			set = set.union(loSet)
		} else {
			set = set.union(single(lo))
		}
	}
	if f.i {
		set = set.foldClosure()
	}
	if negate {
		set = anyRune().subtract(set)
	}
	return set, nil
}

// classItem reads one character or shorthand class inside [...].
func (p *parser) classItem(f flags) (rune, runeSet, error) {
	c := p.peek()
	if c != '\\' {
		p.pos++
		return c, nil, nil
	}
	start := p.pos
	p.pos++
	if p.eof() {
		return 0, nil, p.syntax(start, "unterminated character set")
	}
	e := p.peek()
	switch e {
	case 'd', 'D', 's', 'S', 'w', 'W':
		p.pos++
		return 0, shorthand(e, f), nil
	}
	if e >= '0' && e <= '9' {
		isOct := func(c rune) bool { return c >= '0' && c <= '7' }
		if !isOct(e) {
			return 0, nil, p.syntax(start, "bad escape \\%c", e)
		}
		v := 0
		for k := 0; k < 3 && isOct(p.peek()); k++ {
			v = v*8 + int(p.peek()-'0')
			p.pos++
		}
		if v > 0o377 {
			return 0, nil, p.syntax(start, "octal escape value outside of range 0-0o377")
		}
		return rune(v), nil, nil
	}
	r, err := p.charEscape(start, true)
	return r, nil, err
}

// literalNode is one character, its case variants too under IGNORECASE.
func literalNode(c rune, f flags) node {
	if f.i {
		s := single(c).foldClosure()
		if len(s) > 1 || s[0].lo != s[0].hi {
			return setNode(s)
		}
	}
	return node{goText: goRune(c), pgText: pgRune(c), repeatable: true}
}

func setNode(s runeSet) node {
	return node{goText: s.goClass(), pgText: s.pgClass(), repeatable: true}
}

func goRune(c rune) string {
	if c < 128 && isAlnum(c) {
		return string(c)
	}
	return fmt.Sprintf(`\x{%x}`, c)
}

// pgRune is c in Postgres: ASCII letters and digits as themselves,
// everything else as a \u or \U escape, so no character is ever a
// metacharacter. NUL and surrogates cannot occur in Postgres text: they
// become a class that matches nothing.
func pgRune(c rune) string {
	if c < 128 && isAlnum(c) {
		return string(c)
	}
	if c == 0 || (c >= 0xD800 && c <= 0xDFFF) {
		return pgNever
	}
	if c > 0xFFFF {
		return fmt.Sprintf(`\U%08X`, c)
	}
	return fmt.Sprintf(`\u%04X`, c)
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
