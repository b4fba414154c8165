// Package rabbitnode runs a RabbitMQ node of a test's own: its own node
// name, AMQP and distribution ports, Erlang cookie, data and log
// directories, so a test can stop, start (and later cluster) it without
// touching the shared broker other tests use.
//
// Why: tests of broker outages must stop a broker. Stopping the shared one
// breaks every other test running on the machine; a node per test costs a
// few seconds of start-up and nothing else.
//
//	n := rabbitnode.Start(t, rabbitnode.Options{})
//	url := n.URL() // amqp://guest:guest@127.0.0.1:<port>/
//	n.Stop(t)      // the whole node halts: connections drop, non-durable queues are gone
//	n.Start(t)     // same name, ports and data: durable queues and users survive
//
// The node runs Debian's /usr/lib/rabbitmq/bin/rabbitmq-server directly (as
// the current user, with HOME set to the node's directory, where its cookie
// is), reads no file of /etc/rabbitmq (its own rabbitmq.conf, an empty
// rabbitmq-env.conf and no plugins), and is halted and removed by the
// test's cleanup. Without RabbitMQ installed the test is skipped, or fails
// with CI=true (pkg/testenv).
package rabbitnode

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// BinDir is where Debian installs RabbitMQ's own scripts (the ones in
// /usr/sbin switch to the rabbitmq user and read /etc/rabbitmq).
var BinDir = "/usr/lib/rabbitmq/bin"

// Options choose the node's identity; zero values pick free ones.
type Options struct {
	// Name is the node name (RABBITMQ_NODENAME). Default a unique
	// gonova-<hex>@localhost.
	Name string
	// Port is the AMQP port (RABBITMQ_NODE_PORT) on 127.0.0.1, DistPort the
	// Erlang distribution port (RABBITMQ_DIST_PORT). Default free ports.
	Port, DistPort int
	// StartTimeout bounds each start. Default 90 s.
	StartTimeout time.Duration
	// Conf are extra lines of the node's rabbitmq.conf, for example a TLS
	// listener: "listeners.ssl.default = 127.0.0.1:5671",
	// "ssl_options.certfile = /path/cert.pem".
	Conf []string
	// Cookie is the Erlang cookie written to the node's
	// $HOME/.erlang.cookie. Nodes of one cluster (and the rabbitmqctl that
	// joins them) must share it. Default: Erlang makes one up.
	Cookie string
}

// Node is a running (or stopped) RabbitMQ node of the test.
type Node struct {
	Name     string
	Port     int
	DistPort int
	dir      string
	timeout  time.Duration

	mu      sync.Mutex
	running bool
}

// Start starts a node and waits until it accepts AMQP connections. The
// test's cleanup halts it and removes its files.
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	n := New(t, o)
	n.Start(t)
	return n
}

// New prepares a node (name, ports, files) without starting it, so that a
// caller can start several at once with StartErr. The test's cleanup halts
// it and removes its files.
func New(t testing.TB, o Options) *Node {
	t.Helper()
	if _, err := os.Stat(filepath.Join(BinDir, "rabbitmq-server")); err != nil {
		msg := "RabbitMQ is not installed (" + BinDir + "/rabbitmq-server): run scripts/services.sh"
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if o.Name == "" {
		o.Name = testenv.UniqueName("gonova-") + "@localhost"
	}
	if o.Port == 0 {
		o.Port = freePort(t)
	}
	if o.DistPort == 0 {
		o.DistPort = freePort(t)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 90 * time.Second
	}
	dir, err := os.MkdirTemp("", "gonova-rabbitnode-")
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{Name: o.Name, Port: o.Port, DistPort: o.DistPort, dir: dir, timeout: o.StartTimeout}
	for _, d := range []string{"mnesia", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"rabbitmq.conf":   fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", o.Port) + strings.Join(append(o.Conf, ""), "\n"),
		"enabled_plugins": "[].\n",
		"env.conf":        "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.Cookie != "" {
		// Erlang refuses a cookie file others can read.
		if err := os.WriteFile(filepath.Join(dir, ".erlang.cookie"), []byte(o.Cookie), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		n.mu.Lock()
		running := n.running
		n.mu.Unlock()
		if running {
			if err := n.ctl(30*time.Second, "stop"); err != nil {
				t.Logf("rabbitnode: stopping %s: %v", n.Name, err)
			}
		}
		if t.Failed() {
			t.Logf("rabbitnode: logs of %s kept in %s", n.Name, dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return n
}

// URL is the node's AMQP URL with the guest account.
func (n *Node) URL() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", n.Port) }

// TransportURL is URL in transport_url's rabbit:// form.
func (n *Node) TransportURL() string { return strings.Replace(n.URL(), "amqp://", "rabbit://", 1) }

// Addr is the AMQP listener's host:port.
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

func (n *Node) env() []string {
	d := n.dir
	return append(os.Environ(),
		"HOME="+d,
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(d, "env.conf"),
		"RABBITMQ_NODENAME="+n.Name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(n.Port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(n.DistPort),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(d, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(d, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(d, "rabbit.pid"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(d, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(d, "enabled_plugins"),
		`ERL_FLAGS=-kernel inet_dist_use_interface {127,0,0,1}`,
	)
}

// Ctl runs rabbitmqctl -n <node> args and returns its output.
func (n *Node) Ctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.ctlOut(60*time.Second, args...)
	if err != nil {
		t.Fatalf("rabbitmqctl -n %s %v: %v\n%s", n.Name, args, err, out)
	}
	return out
}

func (n *Node) ctl(timeout time.Duration, args ...string) error {
	out, err := n.ctlOut(timeout, args...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func (n *Node) ctlOut(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(BinDir, "rabbitmqctl"), append([]string{"-n", n.Name}, args...)...)
	cmd.Env = n.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start starts the node (again) and waits until it accepts AMQP
// connections.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	if err := n.StartErr(); err != nil {
		t.Fatal(err)
	}
}

// StartErr is Start returning its error instead of failing the test, for
// starting nodes from goroutines of their own.
func (n *Node) StartErr() error {
	cmd := exec.Command(filepath.Join(BinDir, "rabbitmq-server"), "-detached")
	cmd.Env = n.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rabbitmq-server -detached (%s): %v\n%s", n.Name, err, out)
	}
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
	deadline := time.Now().Add(n.timeout)
	for {
		// await_startup fails at once while the node is not yet known to
		// epmd: retry it until it waits for real.
		err := n.ctl(10*time.Second, "await_startup", "--timeout", "10")
		if err == nil {
			c, derr := net.DialTimeout("tcp", n.Addr(), time.Second)
			if derr == nil {
				_ = c.Close()
				return nil
			}
			err = derr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rabbitnode: %s did not start within %s: %v (logs in %s)", n.Name, n.timeout, err, filepath.Join(n.dir, "log"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// CtlErr is Ctl returning its error (with the command's output) instead of
// failing the test.
func (n *Node) CtlErr(timeout time.Duration, args ...string) (string, error) {
	out, err := n.ctlOut(timeout, args...)
	if err != nil {
		return out, fmt.Errorf("rabbitmqctl -n %s %v: %w: %s", n.Name, args, err, out)
	}
	return out, nil
}

// Stop halts the whole node (rabbitmqctl stop): every connection drops and,
// when it starts again, only durable queues and their persistent messages
// are back.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	n.Ctl(t, "stop")
	n.mu.Lock()
	n.running = false
	n.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", n.Addr(), 200*time.Millisecond)
		if err != nil {
			return
		}
		_ = c.Close()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("rabbitnode: %s still accepts connections after stop", n.Name)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
