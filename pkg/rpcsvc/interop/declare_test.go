package interop

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// declareCase is one set of [oslo_messaging_rabbit] options: gonova's
// rpcsvc.Options and the same options in a Python nova.conf.
type declareCase struct {
	name string
	opts rpcsvc.Options
	conf string // [oslo_messaging_rabbit] lines for oslo.messaging 14.0.3
}

// uuidHex is the random part of oslo's reply and fanout queue names.
var uuidHex = regexp.MustCompile(`[0-9a-f]{32}`)

// declared is what a vhost holds once a server ran on topic and a client
// called it: the queues and exchanges, with the random queue names
// replaced by <uuid> and the topic by <topic>.
func declared(t *testing.T, vhost, topic string) []string {
	t.Helper()
	var out []string
	norm := func(s string) string {
		return strings.ReplaceAll(uuidHex.ReplaceAllString(s, "<uuid>"), topic, "<topic>")
	}
	for _, q := range testenv.RabbitQueues(t, vhost) {
		out = append(out, "queue "+norm(q.String()))
	}
	for _, e := range testenv.RabbitExchanges(t, vhost) {
		out = append(out, "exchange "+norm(e.String()))
	}
	return out
}

// goDeclares runs a gonova server on topic in a fresh vhost, calls it once
// (the reply queue), and returns what the vhost holds.
func goDeclares(t *testing.T, opts rpcsvc.Options, topic string) []string {
	t.Helper()
	url := testenv.RabbitVhost(t)
	opts.TransportURL = url
	tr := openTransport(t, opts)
	startGoServer(t, tr, topic, "host1")
	callEcho(t, tr, topic)
	return declared(t, testenv.VhostOf(t, url), topic)
}

func callEcho(t *testing.T, tr *rpcsvc.Transport, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out map[string]any
	if err := newClient(t, tr, topic).Call(ctx, "echo", map[string]any{"x": 1}, &out); err != nil {
		t.Fatalf("call: %v", err)
	}
}

// pyDeclares does what goDeclares does with oslo.messaging 14.0.3: its
// server and client, configured by conf.
func pyDeclares(t *testing.T, conf, topic string) []string {
	t.Helper()
	url := testenv.RabbitVhost(t)
	flags := []string{"--url", testenv.OsloURL(url), "--config-file", writeConf(t, conf)}
	startPyServerFlags(t, testExchange, topic, "host1", flags...)
	var res pyCallResult
	pyClient(t, testExchange, topic, "call", &res, append(flags, "--method", "echo", "--args", `{"x": 1}`)...)
	if !res.OK {
		t.Fatalf("python call: %s", res)
	}
	return declared(t, testenv.VhostOf(t, url), topic)
}

func writeConf(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "nova.conf")
	if err := os.WriteFile(f, []byte("[oslo_messaging_rabbit]\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// For each option oslo.messaging 14.0.3 has, gonova declares on a real
// broker exactly the queues and exchanges (type, durable, auto_delete,
// exclusive, arguments and their AMQP types) that Python oslo.messaging
// 14.0.3 declares with the same options.
func TestDeclarationsMatchPythonOslo(t *testing.T) {
	testenv.RequirePythonOslo(t)
	cases := []declareCase{
		{name: "defaults"},
		{name: "amqp_durable_queues", opts: rpcsvc.Options{DurableQueues: true}, conf: "amqp_durable_queues = true\n"},
		{name: "amqp_auto_delete", opts: rpcsvc.Options{AutoDelete: true}, conf: "amqp_auto_delete = true\n"},
		{name: "rabbit_quorum_queue", opts: rpcsvc.Options{QuorumQueue: true}, conf: "rabbit_quorum_queue = true\n"},
		{
			name: "quorum limits",
			opts: rpcsvc.Options{QuorumQueue: true, QuorumDeliveryLimit: 5, QuorumMaxMemoryLength: 100, QuorumMaxMemoryBytes: 1 << 20},
			// 14.0.3 spells the memory options rabbit_quroum_* (renamed in 2023.1).
			conf: "rabbit_quorum_queue = true\nrabbit_quorum_delivery_limit = 5\nrabbit_quroum_max_memory_length = 100\nrabbit_quroum_max_memory_bytes = 1048576\n",
		},
		{name: "rabbit_transient_queues_ttl", opts: rpcsvc.Options{TransientQueuesTTL: 120 * time.Second}, conf: "rabbit_transient_queues_ttl = 120\n"},
		{name: "rabbit_ha_queues", opts: rpcsvc.Options{HAQueues: true}, conf: "rabbit_ha_queues = true\n"},
		{name: "durable and auto_delete", opts: rpcsvc.Options{DurableQueues: true, AutoDelete: true}, conf: "amqp_durable_queues = true\namqp_auto_delete = true\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each in vhosts of its own
			topic := testenv.UniqueName("decl_")
			g := goDeclares(t, c.opts, topic)
			p := pyDeclares(t, c.conf, topic)
			if strings.Join(g, "\n") != strings.Join(p, "\n") {
				t.Fatalf("gonova declares:\n  %s\noslo.messaging 14.0.3 declares:\n  %s", strings.Join(g, "\n  "), strings.Join(p, "\n  "))
			}
			t.Logf("both declare:\n  %s", strings.Join(g, "\n  "))
		})
	}
}

// For the options oslo.messaging 14.0.3 lacks (rabbit_transient_quorum_queue
// and rabbit_stream_fanout, oslo 2024.1), gonova declares what the newest
// oslo's impl_rabbit.py declares: declare_direct_consumer and
// declare_fanout_consumer with durable = rabbit_transient_quorum_queue (or
// the stream), _get_queue_arguments with the transient quorum type and
// limits, and for streams only {x-queue-type: stream, x-max-age: "<ttl>s"};
// the fanout exchange durable = rabbit_transient_quorum_queue.
func TestDeclarationsOfNewerOsloOptions(t *testing.T) {
	exch := "exchange " + testExchange
	cases := []struct {
		name string
		opts rpcsvc.Options
		want []string
	}{
		{"rabbit_transient_quorum_queue", rpcsvc.Options{QuorumQueue: true, TransientQuorumQueue: true, QuorumDeliveryLimit: 3}, []string{
			"queue <topic> type=quorum durable=true auto_delete=false exclusive=false args=[x-delivery-limit=signedint:3 x-queue-type=longstr:quorum]",
			"queue <topic>.host1 type=quorum durable=true auto_delete=false exclusive=false args=[x-delivery-limit=signedint:3 x-queue-type=longstr:quorum]",
			"queue <topic>_fanout_<uuid> type=quorum durable=true auto_delete=false exclusive=false args=[x-delivery-limit=signedint:3 x-expires=signedint:1800000 x-queue-type=longstr:quorum]",
			"queue reply_<uuid> type=quorum durable=true auto_delete=false exclusive=false args=[x-delivery-limit=signedint:3 x-expires=signedint:1800000 x-queue-type=longstr:quorum]",
			"exchange <topic>_fanout type=fanout durable=true auto_delete=true exclusive=false args=[]",
			exch + " type=topic durable=true auto_delete=false exclusive=false args=[]",
		}},
		{"transient quorum alone", rpcsvc.Options{TransientQuorumQueue: true}, []string{
			"queue <topic> type=classic durable=false auto_delete=false exclusive=false args=[]",
			"queue <topic>.host1 type=classic durable=false auto_delete=false exclusive=false args=[]",
			"queue <topic>_fanout_<uuid> type=quorum durable=true auto_delete=false exclusive=false args=[x-expires=signedint:1800000 x-queue-type=longstr:quorum]",
			"queue reply_<uuid> type=quorum durable=true auto_delete=false exclusive=false args=[x-expires=signedint:1800000 x-queue-type=longstr:quorum]",
			"exchange <topic>_fanout type=fanout durable=true auto_delete=true exclusive=false args=[]",
			exch + " type=topic durable=false auto_delete=false exclusive=false args=[]",
		}},
		// 14.0.3's rabbit_transient_queues_ttl has min=1; 0 (no x-expires)
		// is oslo 2023.2's.
		{"rabbit_transient_queues_ttl 0", rpcsvc.Options{TransientQueuesTTL: -1}, []string{
			"queue <topic> type=classic durable=false auto_delete=false exclusive=false args=[]",
			"queue <topic>.host1 type=classic durable=false auto_delete=false exclusive=false args=[]",
			"queue <topic>_fanout_<uuid> type=classic durable=false auto_delete=false exclusive=false args=[]",
			"queue reply_<uuid> type=classic durable=false auto_delete=false exclusive=false args=[]",
			"exchange <topic>_fanout type=fanout durable=false auto_delete=true exclusive=false args=[]",
			exch + " type=topic durable=false auto_delete=false exclusive=false args=[]",
		}},
		{"rabbit_stream_fanout", rpcsvc.Options{QuorumQueue: true, TransientQuorumQueue: true, StreamFanout: true, QosPrefetchCount: 10, TransientQueuesTTL: 600 * time.Second}, []string{
			"queue <topic> type=quorum durable=true auto_delete=false exclusive=false args=[x-queue-type=longstr:quorum]",
			"queue <topic>.host1 type=quorum durable=true auto_delete=false exclusive=false args=[x-queue-type=longstr:quorum]",
			"queue <topic>_fanout type=stream durable=true auto_delete=false exclusive=false args=[x-max-age=longstr:600s x-queue-type=longstr:stream]",
			"queue reply_<uuid> type=quorum durable=true auto_delete=false exclusive=false args=[x-expires=signedint:600000 x-queue-type=longstr:quorum]",
			"exchange <topic>_fanout type=fanout durable=true auto_delete=true exclusive=false args=[]",
			exch + " type=topic durable=true auto_delete=false exclusive=false args=[]",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each in vhosts of its own
			topic := testenv.UniqueName("decl_")
			got := goDeclares(t, c.opts, topic)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("declared:\n  %s\nwant (oslo's impl_rabbit.py):\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}
