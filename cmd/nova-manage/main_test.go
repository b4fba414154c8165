package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/db"
	"github.com/gonova/gonova/pkg/pgtest"
)

func writeConf(t *testing.T, connection string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nova.conf")
	if err := os.WriteFile(p, []byte("[database]\nconnection = "+connection+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func manage(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDBSyncAndVersion(t *testing.T) {
	conf := writeConf(t, pgtest.NewEmptyDatabase(t))
	latest, _ := db.LatestVersion()

	code, out, errOut := manage(t, "--config-file", conf, "db", "version")
	if code != 0 || strings.TrimSpace(out) != "0" {
		t.Fatalf("db version on an empty database: code %d, out %q, err %q", code, out, errOut)
	}
	code, out, errOut = manage(t, "--config-file", conf, "db", "sync", "1")
	if code != 0 || out != "applied migration 1\n" {
		t.Fatalf("db sync 1: code %d, out %q, err %q", code, out, errOut)
	}
	code, out, errOut = manage(t, "--config-file", conf, "db", "sync")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("applied migration %d\n", latest)) {
		t.Fatalf("db sync: code %d, out %q, err %q", code, out, errOut)
	}
	code, out, _ = manage(t, "--config-file", conf, "db", "sync")
	if code != 0 || out != fmt.Sprintf("database schema is up to date at version %d\n", latest) {
		t.Fatalf("second db sync: code %d, out %q", code, out)
	}
	code, out, _ = manage(t, "--config-file", conf, "db", "version")
	if code != 0 || strings.TrimSpace(out) != fmt.Sprint(latest) {
		t.Fatalf("db version: code %d, out %q, want %d", code, out, latest)
	}
	code, _, errOut = manage(t, "--config-file", conf, "db", "sync", "1")
	if code != 1 || !strings.Contains(errOut, "downgrading") {
		t.Fatalf("db sync to a lower version: code %d, err %q", code, errOut)
	}
}

func TestUsageAndConfigErrors(t *testing.T) {
	mem := writeConf(t, "memory://")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config-file", mem}, 2, "usage:"},
		{[]string{"--config-file", mem, "db"}, 2, "usage:"},
		{[]string{"--config-file", mem, "db", "migrate"}, 2, `unknown db command "migrate"`},
		{[]string{"--config-file", mem, "db", "sync", "x"}, 2, `VERSION "x"`},
		{[]string{"--config-file", mem, "db", "version", "3"}, 2, "takes no arguments"},
		{[]string{"--config-file", mem, "db", "sync"}, 1, "[database] connection is not set to a Postgres URL"},
		{[]string{"--config-file", writeConf(t, "postgresql://nova:pw@127.0.0.1:1/nova?connect_timeout=2"), "db", "version"}, 1, "[database] connection"},
		{[]string{"--config-file", filepath.Join(t.TempDir(), "missing.conf"), "db", "version"}, 2, "missing.conf"},
	}
	for _, c := range cases {
		code, _, errOut := manage(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("nova-manage %v: code %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
