package testenv

import (
	"strings"
	"testing"
)

func TestUniqueNameDiffers(t *testing.T) {
	a, b := UniqueName("x_"), UniqueName("x_")
	if a == b || !strings.HasPrefix(a, "x_") || len(a) != 14 {
		t.Fatalf("UniqueName gave %q and %q", a, b)
	}
}

func TestHostPort(t *testing.T) {
	cases := map[string]string{
		"postgres://postgres@127.0.0.1:5432/postgres": "127.0.0.1:5432",
		"amqp://guest:guest@localhost/":               "localhost:5672",
		"::bad::":                                     "127.0.0.1:5672",
	}
	for in, want := range cases {
		if got := hostPort(in, "5672"); got != want && !(strings.HasPrefix(in, "postgres") && got == want) {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRealPartsAnswer(t *testing.T) {
	RequirePostgres(t)
	RequireRabbit(t)
}

func TestRequireCommandFindsAnExecutable(t *testing.T) {
	if p := RequireCommand(t, "/bin/sh", "install a shell"); p != "/bin/sh" {
		t.Fatalf("RequireCommand = %q", p)
	}
}
