package amqpurl

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

func TestParse(t *testing.T) {
	u, err := Parse("rabbit://nova:s%2Fcret@h1:5673,h2/vh?ssl=1")
	if err != nil {
		t.Fatal(err)
	}
	if !u.TLS || u.Vhost != "vh" || len(u.Hosts) != 2 {
		t.Fatalf("%+v", u)
	}
	if h := u.Hosts[0]; h.Host != "h1" || h.Port != 5673 || h.User != "nova" || h.Password != "s/cret" {
		t.Errorf("first host %+v", h)
	}
	if h := u.Hosts[1]; h.Host != "h2" || h.Port != 5671 || h.User != "guest" {
		t.Errorf("second host: %+v (TLS's default port, guest)", h)
	}
	for _, bad := range []string{"rabbit://nova:Zq9pw@h:notaport/", "kafka://nova:Zq9pw@h/", "rabbit://nova:Zq9pw@/"} {
		_, err := Parse(bad)
		if err == nil || strings.Contains(err.Error(), "Zq9pw") {
			t.Errorf("Parse(bad) = %v: want an error that does not show the password", err)
		}
	}
}

// A refused login names no password, and the connection really uses the
// credentials from the URL.
func TestDialUsesTheCredentialsAndShowsNone(t *testing.T) {
	testenv.RequireRabbit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	good, err := Parse(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ctx, good, good.Hosts[0], DialOptions{Name: "amqpurl-test"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	bad := good
	bad.Hosts = []Host{good.Hosts[0]}
	bad.Hosts[0].Password = "Zq9pwWrong"
	if _, err := Dial(ctx, bad, bad.Hosts[0], DialOptions{}); err == nil || strings.Contains(err.Error(), "Zq9pw") {
		t.Fatalf("a wrong password: %v", err)
	}
}

// ssl = true (DialOptions.TLS) with a host without a port dials 5671, the
// AMQPS port; a port given in the URL is kept.
func TestDialTLSDefaultPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := Parse("rabbit://guest:guest@127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	if h := u.Hosts[0]; h.Port != 5672 || h.PortGiven {
		t.Fatalf("%+v", h)
	}
	_, err = Dial(ctx, u, u.Hosts[0], DialOptions{TLS: &tls.Config{MinVersion: tls.VersionTLS12}, Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:5671") {
		t.Fatalf("TLS without a port: %v, want a dial of 127.0.0.1:5671", err)
	}
	u, _ = Parse("rabbit://guest:guest@127.0.0.1:1/")
	_, err = Dial(ctx, u, u.Hosts[0], DialOptions{TLS: &tls.Config{MinVersion: tls.VersionTLS12}, Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("TLS with port 1: %v", err)
	}
}
