package gmr

import (
	"strings"
	"testing"
)

func TestMaskURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"rabbit://nova:s3cret@mq:5672/", "rabbit://nova:***@mq:5672/"},
		{"rabbit://a:p1@h1:5672,b:p2@h2:5672/nova", "rabbit://a:***@h1:5672,b:***@h2:5672/nova"},
		{"rabbit://a:p1@h1:5672,h2:5672/", "rabbit://a:***@h1:5672,h2:5672/"},
		{"postgresql://nova:pw@db:5432/nova?sslmode=disable", "postgresql://nova:***@db:5432/nova?sslmode=disable"},
		{"postgresql://nova@db/nova", "postgresql://nova@db/nova"},
		{"postgresql://db/nova?user=nova&password=pw&sslmode=disable", "postgresql://db/nova?user=nova&password=***&sslmode=disable"},
		{"host=db user=nova password=pw dbname=nova", "host=db user=nova password=*** dbname=nova"},
		{"host=db password='p w' dbname=nova", "host=db password=*** dbname=nova"},
		{"http://[::1]:8774/v2.1", "http://[::1]:8774/v2.1"},
		{"memory://", "memory://"},
		{"plain value", "plain value"},
		// An unescaped '/' or '@' inside a password must not leak it.
		{"rabbit://nova:pa/ss@mq/", "rabbit://nova:***@mq/"},
		{"rabbit://nova:p@ss@mq/", "rabbit://nova:***@mq/"},
		// An unescaped ',' makes the authority ambiguous: mask it all.
		{"rabbit://nova:pa,ss@mq:5672/", "rabbit://nova:***@mq:5672/"},
	}
	for _, c := range cases {
		if got := MaskURL(c.in); got != c.want {
			t.Errorf("MaskURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMaskValueNeverLeaks(t *testing.T) {
	secret := "Zq9-very-secret"
	for _, c := range []struct{ name, value string }{
		{"admin_password", secret},
		{"metadata_proxy_shared_secret", secret},
		{"memcache_secret_key", secret},
		{"token", secret},
		{"transport_url", "rabbit://u:" + secret + "@h:5672/"},
		{"connection", "postgresql://u:" + secret + "@db/nova"},
		{"connection", "host=db password=" + secret},
	} {
		got := MaskValue(c.name, c.value)
		if strings.Contains(got, secret) || !strings.Contains(got, Masked) {
			t.Errorf("MaskValue(%q, %q) = %q", c.name, c.value, got)
		}
	}
	if got := MaskValue("host", "compute-1"); got != "compute-1" {
		t.Errorf("MaskValue(host) = %q", got)
	}
	if got := MaskValue("admin_password", ""); got != "" {
		t.Errorf("empty secret shown as %q, want empty (unset is not a secret)", got)
	}
}

func TestMaskURLDigitsCommaPassword(t *testing.T) {
	in := "rabbit://nova:1234,99@mq:5672/"
	if got := MaskURL(in); strings.Contains(got, "1234") || strings.Contains(got, "99@") {
		t.Errorf("MaskURL(%q) = %q leaks the password", in, got)
	}
}
