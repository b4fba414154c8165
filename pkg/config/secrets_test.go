package config

import (
	"errors"
	"strings"
	"testing"
)

// pw is the password every case below hides somewhere in a value.
const pw = "Zq9-secret"

func parseBody(t *testing.T, body string) error {
	t.Helper()
	f := write(t, t.TempDir(), "nova.conf", body)
	_, _, err := parse(t, []string{"--config-file", f}, nil)
	return err
}

// An option gonova does not know may hold a secret: its value is never
// shown, wherever it sits, while the message still says what is wrong.
func TestUnknownOptionValuesAreNeverShown(t *testing.T) {
	cases := []struct{ body, want string }{
		{"[DEFAULT]\nconnection = postgresql://nova:" + pw + "@db/nova\n", "belongs in [database]"},
		{"[oslo_messaging_rabbit]\nrabbit_password = " + pw + "\n", "[oslo_messaging_rabbit] rabbit_password: unknown option"},
		{"[oslo_messaging_rabbit]\nrabbit_userid = " + pw + "\n", "unknown option"},
		{"[database]\npassword = " + pw + "\n", "[database] password: unknown option"},
		{"[database]\nslave_connection = nova:" + pw + "@db/nova\n", "unknown option"},
		{"[DEFAULT]\nreport_intervall = " + pw + "\n", "[DEFAULT] report_intervall: unknown option"},
		{"[api]\nadmin_token = " + pw + "\n", "unknown option"},
	}
	for _, c := range cases {
		err := parseBody(t, c.body)
		if err == nil {
			t.Errorf("%q: no error", c.body)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, pw) || !strings.Contains(msg, c.want) {
			t.Errorf("%q: error %q, want it to contain %q and not the value", c.body, msg, c.want)
		}
		var ce *Error
		if !errors.As(err, &ce) || strings.Contains(ce.Value, pw) {
			t.Errorf("%q: Error.Value = %q", c.body, ce.Value)
		}
	}
}

// A URL that does not parse is shown masked, and what is wrong is said in
// gonova's words: never a parser's error, which quotes the whole URL.
func TestBadURLsNeverShowTheirPassword(t *testing.T) {
	cases := []struct{ body, want string }{
		{"[database]\nconnection = postgresql://nova:" + pw + "@db:notaport/nova\n", "port of host 1"},
		{"[database]\nconnection = postgresql+psycopg2://nova:" + pw + "@db:70000/nova\n", "port of host 1"},
		{"[database]\nconnection = nova:" + pw + "@db/nova\n", "expected scheme://"},
		{"[database]\nconnection = postgresql://nova:" + pw + "%zz@db/nova\n", "password of host 1"},
		{"[database]\nconnection = postgresql://nova:" + pw + "@[db/nova\n", "closing ']'"},
		{"[DEFAULT]\ntransport_url = rabbit://u:pa/" + pw + "@h:99999/\n", "'@' follows the host list"},
		{"[DEFAULT]\ntransport_url = rabbit://u:" + pw + "/x@h:99999/\n", "'@' follows the host list"},
		{"[DEFAULT]\ntransport_url = rabbit://u:" + pw + "?x@h:5672/\n", "'@' follows the host list"},
		{"[DEFAULT]\ntransport_url = rabbit:/u:" + pw + "@h/\n", "expected scheme://"},
		{"[DEFAULT]\ntransport_url = rabbit://u:" + pw + "@mq host:5672/\n", "host 1 is not a valid host name"},
		{"[DEFAULT]\ntransport_url = rabbit://u:" + pw + ",x@mq:5672/\n", "port of host 1"},
		{"[DEFAULT]\ntransport_url = rabbit://u:12," + pw + "@mq:5672/\n", "earlier host has none"},
	}
	for _, c := range cases {
		err := parseBody(t, c.body)
		if err == nil {
			t.Errorf("%q: no error", c.body)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, pw) || !strings.Contains(msg, c.want) {
			t.Errorf("%q: error %q, want it to contain %q and not the password", c.body, msg, c.want)
		}
	}
	// The environment and the reload go through the same rendering.
	_, _, err := parse(t, nil, map[string]string{"OS_DATABASE__CONNECTION": "postgresql://nova:" + pw + "@db:notaport/nova"})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("environment: error %v", err)
	}
}

// ini's errors quote the line they refuse; a line missing its '=' may be a
// password.
func TestUnreadableLinesAreNotQuoted(t *testing.T) {
	cases := []struct{ body, want string }{
		{"[DEFAULT]\nhost = a\nrabbit_password " + pw + "\n", "line 3"},
		{"[DEFAULT\nx = " + pw + "\n", "line 1: a section header lacks"},
		{"[DEFAULT]\nhost = \"\"\"" + pw + "\n", "line 2"},
	}
	for _, c := range cases {
		err := parseBody(t, c.body)
		if err == nil {
			t.Errorf("%q: no error", c.body)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, pw) || !strings.Contains(msg, c.want) {
			t.Errorf("%q: error %q, want it to contain %q and not the line", c.body, msg, c.want)
		}
	}
}

func TestCommandLineErrorsDoNotShowValues(t *testing.T) {
	for _, args := range [][]string{
		{"--transport_url=rabbit://u:" + pw + "@h/"},
		{"--password=" + pw},
		{"--db-password", pw},
		{"--config-file", "rabbit://u:" + pw + "@h/"},
		{"--config-dir=postgresql://nova:" + pw + "@db/nova"},
	} {
		_, _, err := parse(t, args, nil)
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("%q: error %v", args, err)
		}
	}
}

// However an Error is built, its message renders the value through display.
func TestErrorRendersItsValueThroughDisplay(t *testing.T) {
	for _, e := range []*Error{
		{Source: "x", Section: "DEFAULT", Option: "transport_url", Value: "rabbit://u:" + pw + "@h/", Err: errors.New("bad")},
		{Source: "x", Section: "database", Option: "connection", Value: "nova:" + pw + "@db", Err: errors.New("bad")},
		{Source: "x", Section: "oslo_messaging_rabbit", Option: "rabbit_password", Value: pw, Err: errors.New("bad")},
		{Source: "x", Section: "DEFAULT", Option: "host", Value: "http://u:" + pw + "@h", Err: errors.New("bad")},
	} {
		if strings.Contains(e.Error(), pw) {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

// Masked (and so String and the report) masks a transport URL the config
// accepted even when its password holds a '?' that ends a URL parser's
// authority early. The value reaches here only through the environment or a
// file; here it is set directly.
func TestMaskedHidesEveryPassword(t *testing.T) {
	c := Defaults()
	c.Default.TransportURL = "rabbit://u:" + pw + "@h1:5672,u:" + pw + "@h2:5672/"
	c.Database.Connection = "postgresql://nova:" + pw + "@db/nova"
	c.Default.Host = "user:" + pw + "@host" // not a URL option: only URLs are masked
	for _, e := range c.Masked() {
		if e.Option != "host" && strings.Contains(e.Value, pw) {
			t.Errorf("Masked: %s = %q", e.Option, e.Value)
		}
	}
}

// A password option is hidden whatever it looks like, even a URL.
func TestPasswordOptionsAreHiddenWhole(t *testing.T) {
	for _, pw := range []string{"Zq9pw", "http://Zq9pw@x/"} {
		got, ok := display("keystone_authtoken", "password", pw)
		if !ok || got != "***" {
			t.Errorf("display(password = %q) = %q", pw, got)
		}
	}
}
