package rabbitcluster

import (
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Three nodes start and join; a quorum queue declared through one node has
// its members on all three and a leader QueueLeader finds; the leader stops
// and the queue keeps a leader and its persistent message on the others;
// the node starts again and rejoins. It starts brokers: TestSerial, run
// alone.
func TestSerialClusterQuorumQueue(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("starts a 3-node RabbitMQ cluster: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	c := Start(t, Options{})
	if got := c.TransportURL("/"); strings.Count(got, ",") != 2 || !strings.HasPrefix(got, "rabbit://guest:guest@127.0.0.1:") {
		t.Fatalf("TransportURL = %q", got)
	}
	c.AddVhost(t, "qq")
	publish := func(addr string) {
		conn, err := amqp.Dial("amqp://guest:guest@" + addr + "/qq")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("q1", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
			t.Fatal(err)
		}
		if err := ch.Confirm(false); err != nil {
			t.Fatal(err)
		}
		dc, err := ch.PublishWithDeferredConfirm("", "q1", false, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("m1")})
		if err != nil || !dc.Wait() {
			t.Fatalf("publish: %v", err)
		}
	}
	publish(c.Nodes[1].Addr())
	leader := c.QueueLeader(t, "qq", "q1")
	members := c.Running(t).Ctl(t, "list_queues", "-p", "qq", "--quiet", "--no-table-headers", "name", "members")
	for _, n := range c.Nodes {
		if !strings.Contains(members, n.Name) {
			t.Errorf("members of q1 lack %s: %s", n.Name, members)
		}
	}
	leader.Stop(t)
	newLeader := c.QueueLeader(t, "qq", "q1")
	if newLeader == leader {
		t.Fatalf("q1 still led by the stopped node %s", leader.Name)
	}
	conn, err := amqp.Dial("amqp://guest:guest@" + newLeader.Addr() + "/qq")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var msg amqp.Delivery
	var ok bool
	for deadline := time.Now().Add(20 * time.Second); !ok && time.Now().Before(deadline); {
		if msg, ok, err = ch.Get("q1", true); err != nil {
			t.Fatal(err)
		}
		if !ok {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !ok || string(msg.Body) != "m1" {
		t.Fatalf("message after the leader stopped: %q %v", msg.Body, ok)
	}
	begin := time.Now()
	leader.Start(t)
	c.WaitRunning(t, 3, 60*time.Second)
	t.Logf("%s restarted and rejoined in %s", leader.Name, time.Since(begin).Round(time.Millisecond))
}
