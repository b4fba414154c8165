package amqpdriver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

const testPW = "Zq9pw"

// ParseURL's errors never quote the URL or a part of its authority: with a
// '/', '?' or ',' in the password, what a parser takes for a host or a port
// is part of the password.
func TestParseURLErrorsNeverShowThePassword(t *testing.T) {
	for _, in := range []string{
		"rabbit:/u:" + testPW + "@h/",
		"rabbit://u:pa/" + testPW + "@h:1/",
		"rabbit://u:" + testPW + "/x@h:1/",
		"rabbit://u:" + testPW + "?x@h:1/",
		"rabbit://u:" + testPW + ",x@h:1/",
		"rabbit://u:12," + testPW + "@h:1/",
		"rabbit://u:" + testPW + "@h st:1/",
		"rabbit://u:" + testPW + "@[::1/",
		"rabbit://u:" + testPW + "%zz@h/",
	} {
		_, err := ParseURL(in)
		if err == nil || strings.Contains(err.Error(), testPW) {
			t.Errorf("ParseURL(%q) = %v", in, err)
		}
	}
}

// amqp091 returns net/url's error for a URI it cannot parse, quoting the URI;
// dial keeps the credentials out of the URI string.
func TestDialErrorsNeverShowThePassword(t *testing.T) {
	d := &Driver{cfg: Config{URL: URL{Vhost: "nova"}, ConnectionName: "test"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, h := range []Host{
		{Host: "h st", Port: 1, User: "nova", Password: testPW},
		{Host: "h^", Port: 1, User: "nova", Password: testPW},
		{Host: "127.0.0.1", Port: 1, User: "nova", Password: testPW},
	} {
		_, err := d.dial(ctx, h)
		if err == nil || strings.Contains(err.Error(), testPW) {
			t.Errorf("dial(%+v) = %v", h, err)
		}
	}
}

// With the credentials in the Config, the broker still checks them: the
// right ones connect, a wrong password is refused, and the refusal does not
// show it.
func TestDialAuthenticatesWithTheURLsCredentials(t *testing.T) {
	testenv.RequireRabbit(t)
	u, err := ParseURL(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	d := &Driver{cfg: Config{URL: u, ConnectionName: "secrets-test"}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := d.dial(ctx, u.Hosts[0])
	if err != nil {
		t.Fatalf("dial with the test broker's credentials: %v", err)
	}
	_ = conn.Close()
	bad := u.Hosts[0]
	bad.Password = testPW
	if conn, err := d.dial(ctx, bad); err == nil {
		_ = conn.Close()
		t.Fatal("dial with a wrong password connected: the credentials are not used")
	} else if strings.Contains(err.Error(), testPW) {
		t.Fatalf("refusal shows the password: %v", err)
	}
}
