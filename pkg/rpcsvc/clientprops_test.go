package rpcsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// rabbitctlJSON runs rabbitmqctl -q <args> --formatter json into out.
func rabbitctlJSON(t *testing.T, out any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, "rabbitmqctl", append([]string{"-q", "--formatter", "json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("rabbitmqctl %v: %v", args, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("rabbitmqctl %v: %v: %s", args, err, b)
	}
}

// The server's channel has basic.qos prefetch = rabbit_qos_prefetch_count,
// as the broker reports it, and the connection carries oslo's
// connection_name "<program>:<pid>:<connection uuid>".
func TestPrefetchAndConnectionNameOnTheBroker(t *testing.T) {
	t.Parallel()
	e := streamEnv(t)
	vhost := testenv.VhostOf(t, e.url)
	tr := e.open(t, func(o *Options) { o.QosPrefetchCount = 7; o.Registerer = nil })
	e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})

	var chans []struct {
		Vhost     string `json:"vhost"`
		Prefetch  int    `json:"prefetch_count"`
		Consumers int    `json:"consumer_count"`
	}
	rabbitctlJSON(t, &chans, "list_channels", "vhost", "prefetch_count", "consumer_count")
	found := false
	for _, c := range chans {
		if c.Vhost == vhost && c.Consumers == 3 { // topic, topic.host, fanout
			found = true
			if c.Prefetch != 7 {
				t.Errorf("the server's channel has prefetch %d, want rabbit_qos_prefetch_count 7", c.Prefetch)
			}
		}
	}
	if !found {
		t.Fatalf("no channel with the server's 3 consumers in vhost %s: %+v", vhost, chans)
	}

	var conns []struct {
		Vhost string `json:"vhost"`
		// A connection still in its handshake shows "none" instead of
		// a list: such rows are other tests' and are skipped.
		Props json.RawMessage `json:"client_properties"`
	}
	rabbitctlJSON(t, &conns, "list_connections", "vhost", "client_properties")
	want := regexp.MustCompile(fmt.Sprintf(`^%s:%d:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, regexp.QuoteMeta(filepath.Base(os.Args[0])), os.Getpid()))
	n := 0
	for _, c := range conns {
		if c.Vhost != vhost {
			continue
		}
		var props [][]any
		if err := json.Unmarshal(c.Props, &props); err != nil {
			t.Fatalf("client_properties of a connection in %s: %s", vhost, c.Props)
		}
		for _, p := range props {
			if len(p) == 3 && p[0] == "connection_name" {
				n++
				if s, _ := p[2].(string); !want.MatchString(s) {
					t.Errorf("connection_name %q, want %s", s, want)
				}
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d connections with a connection_name in vhost %s, want 1", n, vhost)
	}
}
