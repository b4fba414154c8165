package amqpdriver

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// frame builds an AMQP frame.
func frame(typ byte, payload []byte) []byte {
	f := []byte{typ, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(f[3:], uint32(len(payload)))
	return append(append(f, payload...), frameEnd)
}

func method(class, id uint16, args []byte) []byte {
	p := make([]byte, 4)
	binary.BigEndian.PutUint16(p, class)
	binary.BigEndian.PutUint16(p[2:], id)
	return append(p, args...)
}

// oneByteConn reads its input one byte at a time: frames arrive split at
// every possible place.
type oneByteConn struct {
	net.Conn
	r io.Reader
}

func (c *oneByteConn) Read(p []byte) (int, error) { return c.r.Read(p[:1]) }

// connection.tune's heartbeat is read as 0, everything else byte for byte,
// however the stream is split; after the tune frame reads go straight
// through.
func TestNoHeartbeatConnRewritesTune(t *testing.T) {
	start := frame(frameMethod, method(classConn, 10, []byte("server-properties...")))
	tuneArgs := []byte{0x07, 0xff, 0, 2, 0, 0, 0, 60} // channel-max 2047, frame-max 131072, heartbeat 60
	tune := frame(frameMethod, method(classConn, methodTune, tuneArgs))
	after := frame(frameMethod, method(classConn, 41, []byte{0})) // open-ok
	heartbeatFrame := frame(8, nil)
	in := bytes.Join([][]byte{start, tune, after, heartbeatFrame}, nil)
	c := &noHeartbeatConn{Conn: &oneByteConn{r: bytes.NewReader(in)}}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(in)
	hbAt := len(start) + frameHeader + tuneHeartbeat
	if binary.BigEndian.Uint16(want[hbAt:]) != 60 {
		t.Fatalf("test frame wrong: heartbeat at %d is %d", hbAt, binary.BigEndian.Uint16(want[hbAt:]))
	}
	binary.BigEndian.PutUint16(want[hbAt:], 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("read\n%x\nwant\n%x", got, want)
	}
	if !c.done {
		t.Fatal("tune frame not recognised")
	}
}

// A reply that is not AMQP frames (the broker's protocol header when it
// refuses our version) goes through unchanged.
func TestNoHeartbeatConnPassesOtherBytes(t *testing.T) {
	in := []byte("AMQP\x00\x00\x09\x01")
	got, err := io.ReadAll(&noHeartbeatConn{Conn: &oneByteConn{r: bytes.NewReader(in)}})
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("read %q, %v; want %q", got, err, in)
	}
}

// brokerTimeout is the heartbeat timeout RabbitMQ runs the connection
// named name with (rabbitmqctl list_connections), in seconds.
func brokerTimeout(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Skip("rabbitmqctl not found")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "rabbitmqctl", "list_connections", "--quiet", "--no-table-headers", "client_properties", "timeout").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("rabbitmqctl list_connections: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, name) {
				f := strings.Fields(line)
				return f[len(f)-1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %s not listed:\n%s", name, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// heartbeat_timeout_threshold is the heartbeat the connection runs with,
// on both sides, as with oslo (kombu proposes the threshold itself); 0
// disables heartbeats though the broker proposes 60s.
func TestHeartbeatNegotiated(t *testing.T) {
	testenv.RequireRabbit(t)
	for _, tc := range []struct {
		timeout time.Duration
		want    string
	}{{7 * time.Second, "7"}, {0, "0"}} {
		name := testenv.UniqueName("gonova-hb-")
		u, err := ParseURL(testenv.OsloURL(testenv.RabbitURL()))
		if err != nil {
			t.Fatal(err)
		}
		d, err := Open(context.Background(), Config{URL: u, ConnectionName: name, TransientTTL: time.Minute, Heartbeat: Heartbeat{Timeout: tc.timeout}})
		if err != nil {
			t.Fatal(err)
		}
		conn, _, _ := d.current()
		if conn.Config.Heartbeat != tc.timeout {
			t.Errorf("threshold %s: client heartbeat %s", tc.timeout, conn.Config.Heartbeat)
		}
		if got := brokerTimeout(t, name); got != tc.want {
			t.Errorf("threshold %s: the broker's timeout for the connection is %s, want %s", tc.timeout, got, tc.want)
		}
		_ = d.Close()
	}
}

// A broker that goes silent with the connection open (frozen, not closed)
// is given up within 1.5 heartbeat_timeout_threshold. (Kombu's first
// reconnect goes to the same host, whose handshake then hangs until the
// dial timeout: the test kills it once detected, and the driver moves to
// the next host.)
func TestHeartbeatDetectsASilentBroker(t *testing.T) {
	testenv.RequireRabbit(t)
	a, b := newProxy(t, testenv.RabbitURL()), newProxy(t, testenv.RabbitURL())
	hb := 2 * time.Second
	d := openVia(t, Config{Heartbeat: Heartbeat{Timeout: hb, Rate: 2}, Reconnect: Reconnect{Delay: 10 * time.Millisecond, Interval: time.Second, IntervalMax: time.Second}}, a, b)
	gen := d.generation()
	frozen := time.Now()
	a.freeze()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if conn, _, _ := d.current(); conn == nil || conn.IsClosed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the silent broker was not given up within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(frozen)
	t.Logf("silent broker given up after %s", took.Round(time.Millisecond))
	if took < hb || took > hb*3/2+time.Second {
		t.Errorf("a silent broker was given up after %s, want within 1.5 x %s", took, hb)
	}
	a.kill()
	if host, _ := waitReconnected(t, d, gen, 5*time.Second); host != 1 {
		t.Errorf("reconnected to host %d, want 1", host)
	}
}
