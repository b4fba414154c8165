package testenv

import (
	"net"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestOsloURL(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://guest:guest@127.0.0.1:5672/v":  "rabbit://guest:guest@127.0.0.1:5672/v",
		"amqps://guest:guest@127.0.0.1:5671/":  "rabbit://guest:guest@127.0.0.1:5671/",
		"rabbit://guest:guest@127.0.0.1:5672/": "rabbit://guest:guest@127.0.0.1:5672/",
	} {
		if got := OsloURL(in); got != want {
			t.Errorf("OsloURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two vhosts are distinct, usable by guest, and gone after DeleteRabbitVhosts.
func TestRabbitVhost(t *testing.T) {
	a, b := RabbitVhost(t), RabbitVhost(t)
	if a == b || !strings.HasPrefix(a, "amqp://") {
		t.Fatalf("vhosts %q and %q", a, b)
	}
	c, err := amqp.Dial(a)
	if err != nil {
		t.Fatalf("dialling the test vhost: %v", err)
	}
	c.Close()
	if err := DeleteRabbitVhosts(); err != nil {
		t.Fatal(err)
	}
	if c, err := amqp.Dial(a); err == nil {
		c.Close()
		t.Fatal("a deleted vhost still accepts connections")
	}
}

// RabbitConnectionValue finds a connection by a one-word key (its client
// port) and by a key with spaces (its client properties), and returns the
// value column: here the heartbeat the connection asked for.
func TestRabbitConnectionValue(t *testing.T) {
	RequireRabbit(t)
	name := UniqueName("testenv_conn_")
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	c, err := amqp.DialConfig(RabbitURL(), amqp.Config{Heartbeat: 17 * time.Second, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, port, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got := RabbitConnectionValue(t, "peer_port", "timeout", func(p string) bool { return p == port }); got != "17" {
		t.Errorf("by port %s: timeout %q, want 17", port, got)
	}
	if got := RabbitConnectionValue(t, "client_properties", "timeout", func(p string) bool { return strings.Contains(p, name) }); got != "17" {
		t.Errorf("by name %s: timeout %q, want 17", name, got)
	}
}
