package pyregex

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/testenv"
)

// patterns are valid and invalid Python patterns, the constructs a server
// filter may use and the ones where the engines differ.
var patterns = []string{
	`web`, `^web`, `web$`, `^web-\d+$`, `.`, `a.c`, `a|b`, `a|`, `|`, `(ab)+`, `(?:ab){2}`, `a{2,3}`, `a{,2}x`, `a{2,}`,
	`x{`, `x{1`, `x{1,`, `{`, `a{3,1}`, `a*?`, `a+?b`, `[abc]`, `[^abc]`, `[a-z]+`, `[]a]`, `[a-]`, `[-a]`, `[\d-z]`,
	`[\]]`, `[\\]`, `[.]`, `\.`, `\\`, `\d`, `\D`, `\w+`, `\W`, `\s`, `\S`, `[\s\S]`, `[^\s\S]`, `\bweb\b`, `\Bb`,
	`\Aweb`, `web\Z`, `\z`, `\q`, `\x41`, `\x4`, `\u00e9`, `\U0001F600`, `\0`, `\101`, `\400`, `\1`, `(a)\1`,
	`(?P<n>a)(?P=n)`, `(?P<n>a)b`, `(?P<1>a)`, `(?<n>a)`, `(?=a)`, `(?!a)`, `(?<=a)b`, `(?<!a)b`, `(?>a)`, `a*+`,
	`(a)(?(1)b|c)`, `(?#comment)x`, `(?i)WEB`, `(?i)é`, `(?i:W)eb`, `a(?i)b`, `(?-i:a)`, `(?i-i:a)`, `(?s).`,
	`(?m)^b`, `(?m)a$`, `(?x) w e b # comment`, `(?a)\w`, `(?u)\w`, `(?au)a`, `(?L)a`, `^*`, `*`, `+a`, `a**`,
	`a{2}{3}`, `(`, `)`, `(a`, `a)`, `[`, `[a`, `[^]`, `[z-a]`, `\N{DIGIT ONE}`, `a{256}`, `()*`, `(|a)+`,
	`k`, `(?i)k`, `(?i)[k]`, `(?i)[^k]`, `(?i)s`, `ǅ`, `(?i)ǅ`, `日本`, `[^\x00-\x7f]`, `\x00`, `[\x00]`, `$`, `^$`,
	`[\b]`, `\t`, `\n`, `a\$`, `\*`, `\+`, `\?`, `\(`, `\{`, `\|`, `\^`, `\-`, `-`, `\#`, `#`, ` `, `\ `, `(?x)\ `,
	`(?x)[ ]`, `\é`, `%`, `'`, `"`, `;--`, `a'); DROP TABLE instances; --`, `\d{2,3}-[a-f0-9]{4}`,
}

// subjects are the strings matched against every valid pattern.
var subjects = []string{"", "web", "web-12", "WEB", "a web server", "webb", "x-web-y", "ab", "abab", "aaa", "a", "b",
	"c", "abc", "aXc", "-", "]", "\\", ".", "é", "É", "日本語", "😀", "٣", "k", "K", "\u212a", "s", "ſ", "ǅ", "ǆ", "Ǆ",
	"a b", "a\tb", "\u00a0", "web\nx", "x\nweb", "a\n", "\b", "{", "x{", "x{1", "x{1,", "aab", "1", "12", "123", "12-ab0f",
	"a'); DROP TABLE instances; --", "#", " ", "A", "%", "AB", "bab", "ca", "aaaa"}

// python's answers for patterns over subjects: valid, and the matches.
type pyAnswer struct {
	Valid   bool   `json:"valid"`
	Error   string `json:"error"`
	Matches []bool `json:"matches"`
}

const referee = `
import json, re, sys, warnings
warnings.simplefilter("ignore")
data = json.load(sys.stdin)
out = []
for p in data["patterns"]:
    try:
        r = re.compile(p)
    except re.error as e:
        out.append({"valid": False, "error": str(e), "matches": []})
        continue
    out.append({"valid": True, "error": "", "matches": [r.search(s) is not None for s in data["subjects"]]})
json.dump(out, sys.stdout)
`

func askPython(t *testing.T) []pyAnswer {
	t.Helper()
	testenv.RequirePython(t, "re", "python3")
	in, _ := json.Marshal(map[string]any{"patterns": patterns, "subjects": subjects})
	cmd := exec.Command(testenv.PythonPath, "-c", referee)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var answers []pyAnswer
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatal(err)
	}
	return answers
}

// hasNewline: where gonova knowingly differs from Python ($ before a final
// newline; names hold no newline).
func differsOnPurpose(pattern, subject string) bool {
	if strings.Contains(subject, "\n") && strings.Contains(pattern, "$") {
		return true
	}
	// \b and \B are ASCII word boundaries in gonova.
	if (strings.Contains(pattern, `\b`) || strings.Contains(pattern, `\B`)) && !isASCII(subject) {
		return true
	}
	return false
}

func isASCII(s string) bool {
	for _, r := range s {
		if r > 127 {
			return false
		}
	}
	return true
}

// TestCompileMatchesPython: every pattern Python refuses is a SyntaxError,
// every one it accepts compiles (or is an UnsupportedError), and the Go
// regexp finds a match exactly where re.search does.
func TestCompileMatchesPython(t *testing.T) {
	answers := askPython(t)
	for i, p := range patterns {
		a := answers[i]
		re, err := Compile(p)
		var syn *SyntaxError
		var uns *UnsupportedError
		switch {
		case !a.Valid:
			if !errors.As(err, &syn) {
				t.Errorf("%q: python refuses it (%s); Compile = %v", p, a.Error, err)
			}
			continue
		case errors.As(err, &uns):
			continue
		case err != nil:
			t.Errorf("%q: python accepts it; Compile = %v", p, err)
			continue
		}
		for j, s := range subjects {
			if got := re.MatchString(s); got != a.Matches[j] && !differsOnPurpose(p, s) {
				t.Errorf("%q on %q: go %v, python %v (go regexp %s)", p, s, got, a.Matches[j], re.GoRegexp())
			}
		}
	}
}

// TestUnsupportedAreNamed: the constructs gonova refuses say so.
func TestUnsupportedAreNamed(t *testing.T) {
	for p, feature := range map[string]string{`(a)\1`: "back-references", `(?=a)`: "lookahead", `(?<=a)b`: "lookbehind",
		`(?>a)`: "atomic groups", `a*+`: "possessive quantifiers", `a{256}`: "a repetition count above 255",
		`(a)(?(1)b|c)`: "conditional groups", `\N{DIGIT ONE}`: `\N{...} named characters`} {
		_, err := Compile(p)
		var uns *UnsupportedError
		if !errors.As(err, &uns) || uns.Feature != feature {
			t.Errorf("%q: %v, want unsupported %s", p, err, feature)
		}
	}
}

// TestPostgresMatchesPython: the Postgres text of every valid pattern
// compiles in Postgres, and `~` agrees with re.search.
func TestPostgresMatchesPython(t *testing.T) {
	answers := askPython(t)
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	for i, p := range patterns {
		re, err := Compile(p)
		if err != nil || !answers[i].Valid {
			continue
		}
		rows, err := pool.Query(ctx, `SELECT s ~ $1 FROM unnest($2::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n`,
			re.Postgres(), pgSubjects())
		if err != nil {
			t.Errorf("%q: postgres refuses %q: %v", p, re.Postgres(), err)
			continue
		}
		var got []bool
		for rows.Next() {
			var m bool
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Errorf("%q: postgres %q: %v", p, re.Postgres(), err)
			continue
		}
		j := 0
		for k, s := range subjects {
			if strings.ContainsRune(s, 0) {
				continue
			}
			if got[j] != answers[i].Matches[k] && !differsOnPurpose(p, s) {
				t.Errorf("%q on %q: postgres %v, python %v (postgres text %s)", p, s, got[j], answers[i].Matches[k], re.Postgres())
			}
			j++
		}
	}
}

func pgSubjects() []string {
	var out []string
	for _, s := range subjects {
		if !strings.ContainsRune(s, 0) {
			out = append(out, s)
		}
	}
	return out
}

func FuzzCompile(f *testing.F) {
	for _, p := range patterns {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		re, err := Compile(p)
		if err != nil {
			return
		}
		_ = re.MatchString(p)
	})
}

// FuzzPostgresCompiles: Postgres compiles the text of every pattern
// Compile accepts, and agrees with the Go regexp on the pattern itself and
// a few strings (a refusal would be a 500 of the servers list).
//
//	go test -run '^$' -fuzz FuzzPostgresCompiles ./internal/pyregex/
func FuzzPostgresCompiles(f *testing.F) {
	for _, p := range patterns {
		f.Add(p)
	}
	pool := pgtest.NewPool(f)
	f.Fuzz(func(t *testing.T, p string) {
		re, err := Compile(p)
		if err != nil {
			return
		}
		probe := []string{p, "", "web-1", "aé日😀 \t-_"}
		for _, s := range probe {
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
				continue
			}
			var got bool
			if err := pool.QueryRow(context.Background(), `SELECT $1::text ~ $2`, s, re.Postgres()).Scan(&got); err != nil {
				t.Fatalf("%q: postgres refuses %q: %v", p, re.Postgres(), err)
			}
			if want := re.MatchString(s); got != want && !differsOnPurpose(p, s) {
				t.Fatalf("%q on %q: postgres %v, go %v (pg %s, go %s)", p, s, got, want, re.Postgres(), re.GoRegexp())
			}
		}
	})
}
