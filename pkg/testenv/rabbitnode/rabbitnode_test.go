package rabbitnode

import (
	"os"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// A node of the test's own starts, takes connections, keeps a durable queue
// across a stop and start, and loses a non-durable one. It starts a broker:
// TestSerial, run alone.
func TestSerialNodeStopStart(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("starts and stops a RabbitMQ node: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	n := Start(t, Options{})
	declare := func(name string, durable bool) {
		conn, err := amqp.Dial(n.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(name, durable, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	declare("kept", true)
	declare("lost", false)
	n.Stop(t)
	if _, err := amqp.Dial(n.URL()); err == nil {
		t.Fatal("a stopped node took a connection")
	}
	n.Start(t)
	conn, err := amqp.Dial(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for name, want := range map[string]bool{"kept": true, "lost": false} {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.QueueDeclarePassive(name, want, false, false, false, nil)
		if (err == nil) != want {
			t.Errorf("queue %s after a restart: %v, want present=%v", name, err, want)
		}
	}
}
