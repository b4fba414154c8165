package testenv

import (
	"strings"
	"testing"

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
