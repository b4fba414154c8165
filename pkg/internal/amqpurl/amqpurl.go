// Package amqpurl parses oslo's RabbitMQ transport_url and dials one of its
// brokers, for every part of the framework that talks to RabbitMQ (the RPC
// driver, the notifier): one parser, one place where credentials are kept
// out of error messages.
package amqpurl

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/internal/urlcheck"
)

// Host is one broker of a transport_url.
type Host struct {
	Host     string
	Port     int
	User     string
	Password string
	// PortGiven is whether the URL named the port; when it did not, Dial
	// uses 5671 if TLS is on (ssl = true with a rabbit:// URL).
	PortGiven bool
}

// URL is a parsed oslo transport_url for RabbitMQ.
type URL struct {
	Hosts []Host
	Vhost string
	TLS   bool
}

// Parse parses `rabbit://user:pass@h1:5672,user:pass@h2:5672/vhost?ssl=1`
// (also amqp:// and amqps://). Hosts are tried in order on (re)connect.
// Errors never quote the URL or a part of its authority: a malformed URL may
// hold its password anywhere (urlcheck names the wrong part instead).
func Parse(raw string) (URL, error) {
	var u URL
	if _, err := urlcheck.Parse(raw); err != nil {
		return u, fmt.Errorf("transport_url: %v", err)
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	switch scheme {
	case "rabbit", "amqp":
	case "amqps":
		u.TLS = true
	default:
		return u, fmt.Errorf("transport_url scheme %q is not rabbit, amqp or amqps", scheme)
	}
	hostsPart, pathQuery := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hostsPart, pathQuery = rest[:i], rest[i:]
	}
	path, query, _ := strings.Cut(pathQuery, "?")
	path = strings.TrimPrefix(path, "/")
	vhost, err := url.PathUnescape(path)
	if err != nil {
		return u, fmt.Errorf("transport_url virtual host %q: %v", path, err)
	}
	if vhost == "" {
		vhost = "/"
	}
	u.Vhost = vhost
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return u, fmt.Errorf("transport_url query: %v", err)
		}
		if v := q.Get("ssl"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return u, fmt.Errorf("transport_url ssl=%q is not a boolean", v)
			}
			u.TLS = u.TLS || b
		}
	}
	if hostsPart == "" {
		return u, fmt.Errorf("transport_url has no host")
	}
	for _, hp := range strings.Split(hostsPart, ",") {
		h := Host{User: "guest", Password: "guest", Port: 5672}
		if u.TLS {
			h.Port = 5671
		}
		if at := strings.LastIndex(hp, "@"); at >= 0 {
			user, pass, _ := strings.Cut(hp[:at], ":")
			if h.User, err = url.PathUnescape(user); err != nil {
				return u, fmt.Errorf("transport_url: a user name is not percent-encoded correctly")
			}
			if h.Password, err = url.PathUnescape(pass); err != nil {
				return u, fmt.Errorf("transport_url: a password is not percent-encoded correctly")
			}
			hp = hp[at+1:]
		}
		host, port := hp, ""
		if strings.HasPrefix(hp, "[") { // IPv6 literal
			end := strings.Index(hp, "]")
			if end < 0 {
				return u, fmt.Errorf("transport_url: an IPv6 host lacks its closing ]")
			}
			host, port = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
		} else if i := strings.LastIndex(hp, ":"); i >= 0 {
			host, port = hp[:i], hp[i+1:]
		}
		if host == "" {
			return u, fmt.Errorf("transport_url has an empty host")
		}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n <= 0 || n > 65535 {
				return u, fmt.Errorf("transport_url: a port is not a number from 1 to 65535")
			}
			h.Port, h.PortGiven = n, true
		}
		h.Host = host
		u.Hosts = append(u.Hosts, h)
	}
	return u, nil
}

// DialOptions shape a connection beyond the URL.
type DialOptions struct {
	// Heartbeat is heartbeat_timeout_threshold ([oslo_messaging_rabbit]):
	// proposed to the broker as the AMQP heartbeat, as oslo proposes it, so
	// the connection runs with the lower of it and the broker's; a broker
	// silent for 1.5 times it is given up. 0 (or less) disables heartbeats:
	// tune-ok carries 0 (see heartbeatConn).
	Heartbeat time.Duration
	// Name is the connection name shown in RabbitMQ's management UI.
	Name string
	// Timeout bounds the TCP connect and the AMQP handshake. Default 10 s.
	Timeout time.Duration
	// TLS, when set, turns TLS on ([oslo_messaging_rabbit] ssl = true, see
	// TLSOptions.Config) and is the template of every broker's TLS config
	// (Dial sets its ServerName). A URL with amqps:// or ?ssl=1 without it
	// uses TLS with the system's roots.
	TLS *tls.Config
}

// Dial connects to broker h of u. The credentials and the vhost go in the
// AMQP config, not in the URI string: amqp091 returns net/url's errors for a
// URI it cannot parse, and those quote it whole. The URI carries only the
// host and port. Neither the TCP connect nor the handshake can hang on a
// silent peer.
func Dial(ctx context.Context, u URL, h Host, o DialOptions) (*amqp.Connection, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	tlsOn := u.TLS || o.TLS != nil
	port := h.Port
	if tlsOn && !h.PortGiven && (port == 0 || port == 5672) {
		port = 5671
	}
	uri := amqp.URI{Scheme: "amqp", Host: h.Host, Port: port, Username: "guest", Password: "guest", Vhost: "/"}
	var tc *tls.Config
	if tlsOn {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.TLS != nil {
			tc = o.TLS.Clone()
		}
		tc.ServerName = h.Host
	}
	// The TLS handshake is done here, not by amqp091 (the URI stays amqp://),
	// so that a broker's TLS alert after the handshake (TLS 1.3: a client
	// certificate refused) is reported instead of amqp091's "connection is
	// not open".
	var ec *errConn
	heartbeat, wrap := heartbeatConn(o.Heartbeat)
	cfg := amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: h.User, Password: h.Password}},
		Vhost:      u.Vhost,
		Heartbeat:  heartbeat,
		Locale:     "en_US",
		Properties: amqp.Table{"connection_name": o.Name, "product": "gonova"},
		Dial: func(network, addr string) (net.Conn, error) {
			var dl net.Dialer
			dctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			c, err := dl.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			// amqp091-go clears the deadline once connected.
			if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
				_ = c.Close()
				return nil, err
			}
			if tc == nil {
				return wrap(c), nil
			}
			t := tls.Client(c, tc)
			if err := t.HandshakeContext(dctx); err != nil {
				_ = c.Close()
				return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
			}
			ec = &errConn{Conn: t}
			return wrap(ec), nil
		},
	}
	conn, err := amqp.DialConfig(uri.String(), cfg)
	var ae *amqp.Error
	if err != nil && ec != nil && !(errors.As(err, &ae) && ae.Code == amqp.AccessRefused) {
		// The handshake passed: a broker that drops the connection now
		// (TLS 1.3) most often refused the client certificate.
		if rerr := ec.err(); rerr != nil {
			err = fmt.Errorf("%w (%v)", rerr, err)
		}
		return nil, fmt.Errorf("TLS connection to %s:%d closed by the broker after the handshake (does it require a client certificate it was not given or did not accept? ssl_cert_file, ssl_key_file): %w", h.Host, port, err)
	}
	return conn, err
}

// errConn keeps the first TLS alert the broker sent (crypto/tls reports it
// as a "remote error"). amqp091 reads in its own goroutine.
type errConn struct {
	net.Conn
	mu      sync.Mutex
	readErr error
}

func (c *errConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.mu.Lock()
		if c.readErr == nil && strings.Contains(err.Error(), "remote error") {
			c.readErr = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *errConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}
