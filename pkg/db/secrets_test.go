package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/db"
)

// A connection URL that pgx cannot parse: the error says which part is wrong
// in gonova's words and never wraps pgx's error, which quotes the URL with
// the password redacted only as far as pgx could parse it.
func TestParseConfigErrorsNeverQuoteTheURL(t *testing.T) {
	const pw = "Zq9pw"
	cases := []struct{ url, want string }{
		{"postgresql://nova:" + pw + "@db:notaport/nova", "port of host 1"},
		{"postgresql://nova:a@" + pw + "@db:x/nova", "port of host 1"},
		{"postgresql://nova:" + pw + ":b@db:x/nova", "port of host 1"},
		{"postgresql://nova:" + pw + "/b@db/nova", "'@' follows the host list"},
		{"postgresql://nova:" + pw + "%zz@db/nova", "password of host 1"},
		{"postgresql://nova:" + pw + "@[db/nova", "closing ']'"},
		{"postgresql://nova:" + pw + "@db/nova?sslmode=bogus", "sslmode"},
		{"postgresql://nova:" + pw + "@db/nova?connect_timeout=" + pw, "connect_timeout"},
		{"postgresql://nova:" + pw + "@db/nova?pool_max_conns=" + pw, "pool_max_conns"},
		{"host=db user=nova password = " + pw + " port=x", "not a valid Postgres URL"},
		{"nova:" + pw + "@db/nova", "not a valid Postgres URL"},
		{pw + "://db/nova", "unsupported scheme"},
	}
	for _, c := range cases {
		_, err := db.ParseConfig(c.url, db.Options{})
		if err == nil {
			t.Errorf("ParseConfig(%q): no error", c.url)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, pw) && !strings.HasPrefix(c.url, pw) {
			t.Errorf("ParseConfig(%q) = %q leaks the password", c.url, msg)
		}
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "[database] connection") {
			t.Errorf("ParseConfig(%q) = %q, want it to name the option and contain %q", c.url, msg, c.want)
		}
		if strings.Contains(msg, "cannot parse `") || strings.Contains(msg, "db/nova") {
			t.Errorf("ParseConfig(%q) = %q quotes the URL", c.url, msg)
		}
	}
}

// An unreachable server: the error says which database on which host did
// not answer, and nothing of the password.
func TestOpenUnreachableServerNeverShowsThePassword(t *testing.T) {
	const pw = "Zq9pw"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{
		"postgresql://nova:" + pw + "@127.0.0.1:1/nova?connect_timeout=2",
		"postgresql+psycopg2://nova:" + pw + "@127.0.0.1:1,127.0.0.1:2/nova?connect_timeout=2",
		"host=127.0.0.1 port=1 user=nova password=" + pw + " dbname=nova connect_timeout=2",
	} {
		_, err := db.Open(ctx, u)
		if err == nil || strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "did not answer") {
			t.Errorf("Open(%q) = %v", u, err)
		}
	}
}
