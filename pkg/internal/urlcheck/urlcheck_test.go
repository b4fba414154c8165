package urlcheck

import (
	"strings"
	"testing"
)

func TestParseSplitsHostsPathAndQuery(t *testing.T) {
	u, err := Parse("rabbit://nova:p%40ss@mq1:5672,nova:p%40ss@[::1]:5673/nova%2Fvh?ssl=1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "rabbit" || len(u.Hosts) != 2 || u.Path != "nova/vh" || u.Query.Get("ssl") != "1" {
		t.Fatalf("Parse = %+v", u)
	}
	h := u.Hosts[1]
	if h.User != "nova" || h.Password != "p@ss" || !h.HasPassword || h.Host != "::1" || h.Port != 5673 {
		t.Fatalf("host 2 = %+v", h)
	}
	for _, ok := range []string{
		"memory://", "rabbit://guest@mq/", "rabbit://mq", "rabbit://a:p1@h1:5672,h2:5672/",
		"postgresql://nova:p@ss@db/nova", "postgresql:///nova?host=/var/run/postgresql",
		"postgresql://nova:pw@db1:5432,db2:5433/nova?sslmode=disable",
	} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

// Whatever is wrong, the error names the part and never echoes the value: a
// malformed URL may hold its password anywhere.
func TestErrorsNameThePartAndNeverEchoTheValue(t *testing.T) {
	const pw = "Zq9pw"
	cases := []struct{ in, want string }{
		{"nova:" + pw + "@db/nova", "expected scheme://"},
		{"rabbit:/u:" + pw + "@h/", "expected scheme://"},
		{"u:" + pw + "@h://x", "not a scheme"},
		{"postgresql://nova:" + pw + "@db:notaport/nova", "port of host 1"},
		{"postgresql://nova:" + pw + "@db:70000/nova", "port of host 1"},
		{"rabbit://u:" + pw + "@h:/", "port of host 1 is empty"},
		{"rabbit://u:" + pw + "@h st:1/", "host 1 is not a valid host name"},
		{"rabbit://u:" + pw + "@h^:1/", "host 1 is not a valid host name"},
		{"rabbit://u:" + pw + "@[::1/", "closing ']'"},
		{"rabbit://u:" + pw + "@[zz]/", "not a valid IPv6"},
		{"rabbit://u:" + pw + "@::1/", "brackets"},
		{"rabbit://u:pa/" + pw + "@h:99999/", "'@' follows the host list"},
		{"rabbit://u:pa?" + pw + "@h:1/", "'@' follows the host list"},
		{"rabbit://u:pa#" + pw + "@h:1/", "'@' follows the host list"},
		{"rabbit://u:12," + pw + "@h/", "earlier host has none"},
		{"rabbit://u:12," + pw + ":x@h/", "earlier host has none"},
		{"rabbit://u:a@b," + pw + "@h/", "some hosts have a password"},
		{"rabbit://u:" + pw + "%zz@h/", "password of host 1"},
		{"rabbit://u%zz" + pw + ":x@h/", "user name of host 1"},
		{"rabbit://u:" + pw + "@h/%zz" + pw, "path"},
		{"rabbit://u:" + pw + "@h/?ssl=%zz" + pw, "query"},
		{"rabbit://u:" + pw + "@h/#frag" + pw, "fragment"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q): no error", c.in)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, pw) || !strings.Contains(msg, c.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q and not the password", c.in, msg, c.want)
		}
	}
}
