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

// A password holding an unescaped '?' or '#' ends the authority early for a
// URL parser; masking must not stop there.
func TestMaskURLPasswordWithQueryOrFragmentCharacter(t *testing.T) {
	for _, in := range []string{
		"rabbit://nova:Zq9?secret@mq:5672/",
		"rabbit://nova:Zq9#secret@mq:5672/",
		"postgresql://nova:Zq9?secret@db/nova?sslmode=disable",
	} {
		if got := MaskURL(in); strings.Contains(got, "Zq9") || strings.Contains(got, "secret") {
			t.Errorf("MaskURL(%q) = %q leaks the password", in, got)
		}
	}
	// A plain query is left alone.
	if got := MaskURL("postgresql://db/nova?sslmode=disable"); got != "postgresql://db/nova?sslmode=disable" {
		t.Errorf("MaskURL changed a URL without userinfo: %q", got)
	}
}

// Every URL in a value is masked, not only the first.
func TestMaskURLEveryURLInAValue(t *testing.T) {
	in := "tried http://keystone:5000/v3 then rabbit://nova:Zq9secret@mq:5672/ and postgresql://nova:Zq9other@db/nova"
	got := MaskURL(in)
	if strings.Contains(got, "Zq9") {
		t.Errorf("MaskURL(%q) = %q leaks a password", in, got)
	}
	if !strings.Contains(got, "http://keystone:5000/v3") {
		t.Errorf("MaskURL(%q) = %q changed the URL without userinfo", in, got)
	}
}

// Options gonova does not know are masked by their names: anything that
// looks like a password, secret, token or key as a whole, and URL options
// through MaskSecretURL, which hides a value it cannot parse.
func TestMaskValueUnknownOptionNames(t *testing.T) {
	secret := "Zq9-very-secret"
	for _, c := range []struct{ name, value string }{
		{"rabbit_password", secret},
		{"memcache_secret_key", secret},
		{"ssl_key_password", secret},
		{"encryption_key", secret},
		{"api_key", secret},
		{"auth_token", secret},
		{"connection", "nova:" + secret + "@db/nova"},        // no scheme://
		{"transport_url", "rabbit:/nova:" + secret + "@mq/"}, // one slash
		{"auth_url", "keystone:" + secret},
		{"slave_connection", "postgresql://nova:" + secret + "@db/nova"},
		{"transport_url", "rabbit://nova:" + secret + "?x@mq/"},
	} {
		got := MaskValue(c.name, c.value)
		if strings.Contains(got, secret) || !strings.Contains(got, Masked) {
			t.Errorf("MaskValue(%q, %q) = %q", c.name, c.value, got)
		}
	}
	if got := MaskValue("transport_url", "memory://"); got != "memory://" {
		t.Errorf("MaskValue(transport_url, memory://) = %q", got)
	}
	if got := MaskValue("connection", "postgresql://nova@db/nova"); got != "postgresql://nova@db/nova" {
		t.Errorf("MaskValue(connection) without password = %q", got)
	}
}

func TestConfigSectionMasksOptionsItDoesNotKnow(t *testing.T) {
	secret := "Zq9-very-secret"
	var b strings.Builder
	err := ConfigSection(func() []Setting {
		return []Setting{
			{"oslo_messaging_rabbit", "rabbit_password", secret},
			{"", "connection", "postgresql://nova:" + secret + "@db/nova"},
			{"database", "connection", "nova:" + secret + "@db/nova"},
			{"cache", "memcache_secret_key", secret},
			{"keystone_authtoken", "auth_url", "http://admin:" + secret + "@keystone:5000"},
			{"", "my_ip", "10.0.0.5"},
		}
	})(&b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), secret) {
		t.Fatalf("configuration section leaks a secret:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "my_ip = 10.0.0.5") {
		t.Fatalf("configuration section lost a plain value:\n%s", b.String())
	}
}

func TestMaskArgsFlagValueInTheNextArgument(t *testing.T) {
	secret := "Zq9-very-secret"
	got := strings.Join(maskArgs([]string{
		"nova-compute", "--config-file", "/etc/nova/nova.conf",
		"--password", secret, "--transport_url", "rabbit:/u:" + secret + "@h/",
		"--db-password=" + secret, "rabbit://u:" + secret + "@h/",
	}), " ")
	if strings.Contains(got, secret) {
		t.Fatalf("maskArgs = %q leaks a secret", got)
	}
	if !strings.Contains(got, "--config-file /etc/nova/nova.conf") {
		t.Fatalf("maskArgs = %q changed a plain flag", got)
	}
}
