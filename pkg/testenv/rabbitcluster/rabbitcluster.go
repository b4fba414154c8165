// Package rabbitcluster runs a RabbitMQ cluster of a test's own on this
// machine: three (or more) pkg/testenv/rabbitnode nodes with their own node
// names, AMQP and distribution ports and data directories, one shared Erlang
// cookie, joined with `rabbitmqctl join_cluster`. Quorum queues work on it
// (they need at least three nodes to survive the loss of one).
//
// Why: failover of quorum queues and of clients across the hosts of a
// transport_url can only be seen on a real cluster, and stopping a node of
// the shared broker on 5672 would break every other test. The cluster is
// for serial tests (TestSerial*, GONOVA_SERIAL_FAULTS=1): it costs two CPU
// cores' worth of Erlang for a while.
//
//	c := rabbitcluster.Start(t, rabbitcluster.Options{})
//	url := c.TransportURL("/")  // rabbit://guest:guest@127.0.0.1:p1,guest:guest@127.0.0.1:p2,.../
//	leader := c.QueueLeader(t, "/", "compute")
//	leader.Stop(t); leader.Start(t) // it rejoins the cluster
//
// The test's cleanup stops every node and removes its files. Starting and
// joining three nodes takes 25-50 s on a loaded 2-core machine, so the
// package has no test of its own: pkg/rpcsvc/clustertest's serial suite
// starts one cluster and exercises all of it (QueueLeader, Stop, a
// restart that rejoins, WaitRunning).
package rabbitcluster

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// Options shape the cluster.
type Options struct {
	// Nodes is the number of nodes, default 3.
	Nodes int
	// Conf are extra rabbitmq.conf lines of every node.
	Conf []string
}

// Cluster is a running cluster of the test.
type Cluster struct {
	Nodes []*rabbitnode.Node
	// StartTime is how long starting and joining the nodes took.
	StartTime time.Duration
}

// Start starts the nodes at once, joins the second and later ones to the
// first, and returns once every node reports the full cluster running.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	begin := time.Now()
	cookie := strings.ToUpper(testenv.UniqueName("GONOVACOOKIE"))
	base := testenv.UniqueName("gonova-c")
	c := &Cluster{}
	for i := range o.Nodes {
		c.Nodes = append(c.Nodes, rabbitnode.New(t, rabbitnode.Options{
			Name:   fmt.Sprintf("%s-%d@localhost", base, i+1),
			Cookie: cookie,
			Conf:   o.Conf,
		}))
	}
	// Nodes are started together: each takes several seconds of Erlang
	// boot, mostly waiting.
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.StartErr()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	first := c.Nodes[0]
	for i, n := range c.Nodes[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = join(n, first)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	c.WaitRunning(t, len(c.Nodes), 60*time.Second)
	c.StartTime = time.Since(begin)
	t.Logf("rabbitcluster: %d nodes started and joined in %s", len(c.Nodes), c.StartTime.Round(time.Millisecond))
	return c
}

// join makes n a member of first's cluster: stop_app, join_cluster,
// start_app. n's data is reset by joining (it is empty anyway).
func join(n, first *rabbitnode.Node) error {
	for _, args := range [][]string{{"stop_app"}, {"join_cluster", first.Name}, {"start_app"}} {
		if _, err := n.CtlErr(90*time.Second, args...); err != nil {
			return err
		}
	}
	return nil
}

// WaitRunning waits until a running node reports want running nodes.
func (c *Cluster) WaitRunning(t testing.TB, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		for _, n := range c.Nodes {
			out, err := n.CtlErr(10*time.Second, "eval", "length(rabbit_nodes:all_running()).")
			if err != nil {
				last = err.Error()
				continue
			}
			if strings.TrimSpace(out) == fmt.Sprint(want) {
				return
			}
			last = fmt.Sprintf("%s sees %s running nodes", n.Name, strings.TrimSpace(out))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rabbitcluster: not %d nodes running after %s: %s", want, timeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Node returns the node named name (rabbit node name, as list_queues shows
// it), or nil.
func (c *Cluster) Node(name string) *rabbitnode.Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// TransportURL is an oslo transport_url naming every node, in order, on
// vhost (guest account).
func (c *Cluster) TransportURL(vhost string) string {
	hosts := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		hosts[i] = "guest:guest@" + n.Addr()
	}
	return "rabbit://" + strings.Join(hosts, ",") + "/" + url.PathEscape(strings.TrimPrefix(vhost, "/"))
}

// AddVhost creates vhost with full permissions for guest (through a
// running node).
func (c *Cluster) AddVhost(t testing.TB, vhost string) {
	t.Helper()
	n := c.Running(t)
	n.Ctl(t, "add_vhost", vhost)
	n.Ctl(t, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
}

// Running returns a node that answers rabbitmqctl status.
func (c *Cluster) Running(t testing.TB) *rabbitnode.Node {
	t.Helper()
	for _, n := range c.Nodes {
		if _, err := n.CtlErr(10*time.Second, "status"); err == nil {
			return n
		}
	}
	t.Fatal("rabbitcluster: no node is running")
	return nil
}

// QueueLeader returns the node leading quorum queue name of vhost, waiting
// until the queue exists and has a leader.
func (c *Cluster) QueueLeader(t testing.TB, vhost, name string) *rabbitnode.Node {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.Running(t).CtlErr(10*time.Second, "list_queues", "-p", vhost, "--quiet", "--no-table-headers", "name", "type", "leader")
		if err == nil {
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) == 3 && f[0] == name && f[1] == "quorum" {
					if n := c.Node(f[2]); n != nil {
						return n
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("rabbitcluster: no leader known for queue %q in %q: %v\n%s", name, vhost, err, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
