package amqpdriver

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// proxy forwards TCP connections to the test broker, so a test can make
// one "broker" of a multi-host URL vanish (kill), or go silent with its
// connections open (freeze), while the shared broker runs on.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu       sync.Mutex
	conns    []net.Conn
	accepted int
	frozen   bool
	wg       sync.WaitGroup
}

func newProxy(t testing.TB, brokerURL string) *proxy {
	t.Helper()
	p, err := newProxyAt(t, "127.0.0.1:0", brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newProxyAt listens on addr.
func newProxyAt(t testing.TB, addr, brokerURL string) (*proxy, error) {
	u, err := url.Parse(brokerURL)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &proxy{t: t, ln: ln, target: u.Host}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.kill)
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.accepted++
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, b)
		go p.pipe(b, c)
	}
}

// pipe copies until either side closes; while frozen it reads and drops,
// so neither side sees an error or a byte.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := p.frozen
			p.mu.Unlock()
			if !frozen {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
}

func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *proxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// kill closes the listener (new dials are refused) and every connection.
func (p *proxy) kill() {
	_ = p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}
