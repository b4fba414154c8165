package amqpurl

import (
	"encoding/binary"
	"net"
	"time"
)

// heartbeatConn wraps the connection amqp091-go speaks over so that the
// heartbeat is oslo's: heartbeat_timeout_threshold is proposed to the
// broker as the AMQP heartbeat, as kombu proposes it, and 0 disables
// heartbeats as py-amqp does, with tune-ok carrying 0. amqp091-go cannot be
// told the latter (its 0 means 10 s, and it takes the broker's proposal when
// either side says 0): the broker's connection.tune is read with its
// heartbeat field set to 0 and amqp091-go is given -1 s, so that its
// max(-1, 0) negotiates 0. amqpHeartbeat is the value for amqp.Config.
func heartbeatConn(threshold time.Duration) (amqpHeartbeat time.Duration, wrap func(net.Conn) net.Conn) {
	if threshold <= 0 {
		return -time.Second, func(c net.Conn) net.Conn { return &noHeartbeatConn{Conn: c} }
	}
	return threshold, func(c net.Conn) net.Conn { return &firstDeadlineConn{Conn: c, after: threshold * 3 / 2} }
}

// firstDeadlineConn closes a gap of amqp091-go: it clears every deadline
// once the connection is open, and sets the heartbeat's read deadline only
// when the next frame arrives, so a broker that goes silent right after
// connection.open-ok (before its first heartbeat) would never be given up.
// The clearing call sets the read deadline of 1.5 heartbeats instead; the
// next frame read replaces it with amqp091-go's own.
type firstDeadlineConn struct {
	net.Conn
	after time.Duration
}

func (c *firstDeadlineConn) SetDeadline(t time.Time) error {
	if !t.IsZero() {
		return c.Conn.SetDeadline(t)
	}
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(time.Now().Add(c.after))
}

// noHeartbeatConn passes the broker's frames through, setting the
// heartbeat of connection.tune to 0 on the way. Until the tune frame is
// seen it hands over whole frames only (the handshake is a few small
// frames); after it, reads go straight through.
type noHeartbeatConn struct {
	net.Conn
	done bool   // the tune frame went by
	in   []byte // bytes read, not yet a whole frame
	out  []byte // whole frames ready for the reader
}

const (
	frameMethod   = 1
	frameEnd      = 0xCE
	frameHeader   = 7 // type, channel (2), payload size (4)
	classConn     = 10
	methodTune    = 30
	tuneHeartbeat = 4 + 2 + 4 // class, method; channel-max (2), frame-max (4)
)

func (c *noHeartbeatConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.done {
			if len(c.in) > 0 {
				n := copy(p, c.in)
				c.in = c.in[n:]
				return n, nil
			}
			return c.Conn.Read(p)
		}
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		c.frames()
		if len(c.out) == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// frames moves whole frames from in to out, rewriting connection.tune.
func (c *noHeartbeatConn) frames() {
	for !c.done && len(c.in) >= frameHeader {
		size := int(binary.BigEndian.Uint32(c.in[3:7]))
		if len(c.in) < frameHeader+size+1 {
			return
		}
		f := c.in[:frameHeader+size+1]
		c.in = c.in[len(f):]
		payload := f[frameHeader : frameHeader+size]
		if f[0] == frameMethod && size >= tuneHeartbeat+2 &&
			binary.BigEndian.Uint16(payload[0:2]) == classConn && binary.BigEndian.Uint16(payload[2:4]) == methodTune {
			binary.BigEndian.PutUint16(payload[tuneHeartbeat:], 0)
			c.done = true
		}
		c.out = append(c.out, f...)
	}
	if !c.done && len(c.in) > 0 && c.in[0] != frameMethod && c.in[0] != 2 && c.in[0] != 3 && c.in[0] != 8 {
		// Not AMQP frames (a protocol header refusing our version):
		// hand the bytes over as they are.
		c.out = append(c.out, c.in...)
		c.in = nil
		c.done = true
	}
}
