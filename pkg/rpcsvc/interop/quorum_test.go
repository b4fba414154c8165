package interop

import (
	"context"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// With rabbit_quorum_queue (and its limits) on both sides, gonova and Python
// oslo.messaging 14.0.3 servers share a topic's quorum queue in one vhost,
// whichever declares it first, and each side calls the other's server.
func TestQuorumQueuesSharedWithPython(t *testing.T) {
	testenv.RequirePythonOslo(t)
	url := testenv.RabbitVhost(t)
	vhost := testenv.VhostOf(t, url)
	opts := rpcsvc.Options{TransportURL: url, QuorumQueue: true, QuorumDeliveryLimit: 10}
	flags := []string{"--url", testenv.OsloURL(url), "--config-file", writeConf(t, "rabbit_quorum_queue = true\nrabbit_quorum_delivery_limit = 10\n")}
	tr := openTransport(t, opts)

	for _, pyFirst := range []bool{true, false} {
		topic := testenv.UniqueName("quorum_")
		if pyFirst {
			startPyServerFlags(t, testExchange, topic, "py1", flags...)
			startGoServer(t, tr, topic, "go1")
		} else {
			startGoServer(t, tr, topic, "go1")
			startPyServerFlags(t, testExchange, topic, "py1", flags...)
		}
		// gonova calls the Python server.
		cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: topic, Server: "py1"}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var sum int
		err = cl.Call(ctx, "add", map[string]int{"a": 2, "b": 3}, &sum)
		cancel()
		if err != nil || sum != 5 {
			t.Fatalf("gonova -> python add: %d, %v", sum, err)
		}
		// Python calls the gonova server.
		var res pyCallResult
		pyClient(t, testExchange, topic, "call", &res, append(flags, "--server", "go1", "--method", "add", "--args", `{"a": 4, "b": 5}`)...)
		if !res.OK || string(res.Result) != "9" {
			t.Fatalf("python -> gonova add: %s", res)
		}
	}
	for _, q := range testenv.RabbitQueues(t, vhost) {
		if q.Type == "quorum" && len(q.Arguments) != 2 {
			t.Errorf("queue %s", q)
		}
		t.Logf("%s", q)
	}
}
