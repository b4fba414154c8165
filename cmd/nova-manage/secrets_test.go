package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No failure of nova-manage shows the password, whether the configuration
// is wrong, the database is down, or a URL was typed as an argument.
func TestFailuresNeverShowThePassword(t *testing.T) {
	const pw = "Zq9-manage-secret"
	conf := func(body string) string {
		p := filepath.Join(t.TempDir(), "nova.conf")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := conf("[database]\nconnection = memory://\n")
	cases := [][]string{
		{"--config-file", conf("[DEFAULT]\nconnection = postgresql://nova:" + pw + "@db/nova\n"), "db", "sync"},
		{"--config-file", conf("[oslo_messaging_rabbit]\nrabbit_password = " + pw + "\n"), "db", "sync"},
		{"--config-file", conf("[database]\nconnection = postgresql://nova:" + pw + "@db:notaport/nova\n"), "db", "sync"},
		{"--config-file", conf("[database]\nconnection = postgresql://nova:a@" + pw + "@db/nova?sslmode=bogus\n"), "db", "version"},
		{"--config-file", conf("[database]\nconnection = postgresql://nova:" + pw + "@127.0.0.1:1/nova?connect_timeout=2\n"), "db", "version"},
		{"--config-file", good, "db", "postgresql://nova:" + pw + "@db/nova"},
		{"--config-file", good, "db", "sync", "postgresql://nova:" + pw + "@db/nova"},
		{"--config-file", good, "--connection=postgresql://nova:" + pw + "@db/nova", "db", "sync"},
	}
	for _, args := range cases {
		code, out, errOut := manage(t, args...)
		if code == 0 {
			t.Errorf("nova-manage %v succeeded", args)
		}
		if strings.Contains(out+errOut, pw) {
			t.Errorf("nova-manage %v shows the password:\n%s%s", args, out, errOut)
		}
	}
}
