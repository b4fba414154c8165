package amqpurl

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
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

// A positive threshold is proposed as it is; 0 and less disable heartbeats
// (amqp091-go is given -1 s and reads the broker's tune as 0).
func TestHeartbeatConnChoosesTheWrapper(t *testing.T) {
	for _, tc := range []struct {
		threshold, want time.Duration
		disabled        bool
	}{{60 * time.Second, 60 * time.Second, false}, {7 * time.Second, 7 * time.Second, false}, {0, -time.Second, true}, {-time.Second, -time.Second, true}} {
		hb, wrap := heartbeatConn(tc.threshold)
		_, off := wrap(&oneByteConn{}).(*noHeartbeatConn)
		if hb != tc.want || off != tc.disabled {
			t.Errorf("threshold %s: amqp091 heartbeat %s, disabled %v; want %s, %v", tc.threshold, hb, off, tc.want, tc.disabled)
		}
	}
}
