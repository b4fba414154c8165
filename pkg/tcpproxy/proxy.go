package tcpproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections from a loopback listener to a target address.
// It is safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	refuse   atomic.Bool
	accepted atomic.Int64
	cut      atomic.Int64

	mu     sync.Mutex
	conns  map[*pair]struct{}
	closed bool

	wg sync.WaitGroup
}

type pair struct {
	client, server net.Conn
	once           sync.Once
}

func (p *pair) close() {
	p.once.Do(func() {
		_ = p.client.Close()
		_ = p.server.Close()
	})
}

// Start listens on 127.0.0.1 (a free port) and forwards every accepted
// connection to target. The proxy is closed when the test ends.
//
//	p := tcpproxy.Start(t, "127.0.0.1:5672")
//	conn, _ := net.Dial("tcp", p.Addr())
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcpproxy: listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.acceptLoop(t)
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's listening address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted is the number of connections forwarded so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Cut is the number of connections closed by CutAll so far.
func (p *Proxy) Cut() int64 { return p.cut.Load() }

// SetRefuse makes the proxy close new connections as soon as they are accepted
// (true), or forward them again (false). Current connections are not touched.
func (p *Proxy) SetRefuse(refuse bool) { p.refuse.Store(refuse) }

// CutAll closes every current connection on both sides: the client sees its
// connection die, and the server sees its peer go away.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	victims := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		victims = append(victims, c)
		delete(p.conns, c)
	}
	p.mu.Unlock()
	for _, c := range victims {
		c.close()
	}
	p.cut.Add(int64(len(victims)))
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.CutAll()
	p.wg.Wait()
}

func (p *Proxy) acceptLoop(t testing.TB) {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary accept errors (EMFILE and the like): back off briefly.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if p.refuse.Load() {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	pr := &pair{client: client, server: server}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pr.close()
		return
	}
	p.conns[pr] = struct{}{}
	p.mu.Unlock()
	p.accepted.Add(1)

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	// One direction ended: the connection is over both ways.
	pr.close()
	<-done
	p.mu.Lock()
	delete(p.conns, pr)
	p.mu.Unlock()
}
