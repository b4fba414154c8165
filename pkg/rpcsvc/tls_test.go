package rpcsvc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/internal/amqpurl"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// pki is a test CA with a server certificate for the name localhost only
// (no IP address: a dial of 127.0.0.1 fails hostname verification) and a
// client certificate, all as PEM files in dir.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
	otherCA                                          string // a CA that signed nothing here
}

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	cert := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, der
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	caTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	var p pki
	caKey := key()
	ca, caDER := cert(caTmpl("gonova test CA"), nil, &caKey.PublicKey, caKey)
	p.ca = write("ca.pem", "CERTIFICATE", caDER)
	otherKey := key()
	_, otherDER := cert(caTmpl("gonova other CA"), nil, &otherKey.PublicKey, otherKey)
	p.otherCA = write("other-ca.pem", "CERTIFICATE", otherDER)

	sk := key()
	_, sDER := cert(&x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, &sk.PublicKey, caKey)
	p.serverCert = write("server.pem", "CERTIFICATE", sDER)
	p.serverKey = write("server.key", "PRIVATE KEY", keyDER(sk))

	ck := key()
	_, cDER := cert(&x509.Certificate{Subject: pkix.Name{CommonName: "gonova-client"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, &ck.PublicKey, caKey)
	p.clientCert = write("client.pem", "CERTIFICATE", cDER)
	p.clientKey = write("client.key", "PRIVATE KEY", keyDER(ck))
	return p
}

// tlsConfigFrom parses a nova.conf with the given [oslo_messaging_rabbit]
// lines and returns its RabbitTLS.
func rabbitConf(t *testing.T, lines ...string) *config.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "nova.conf")
	body := "[oslo_messaging_rabbit]\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.ParseWith([]string{"--config-file", f}, config.ParseOptions{Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A RabbitMQ node of the test's own with a TLS listener that requires a
// client certificate (verify_peer, fail_if_no_peer_cert): with ssl = true,
// ssl_ca_file, ssl_cert_file and ssl_key_file, a cast and a call go over TLS
// (the node lists the connection as ssl, with the client's certificate);
// without the client certificate, with a wrong CA, or with a name the
// server's certificate does not cover (ssl_enforce_hostname_verification,
// oslo's default) the connection is refused with a clear error; plaintext to
// the TLS port fails. TestSerial: it starts a node.
func TestSerialRabbitTLS(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("starts a RabbitMQ node: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	dir := t.TempDir()
	p := newPKI(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsPort := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	n := rabbitnode.Start(t, rabbitnode.Options{Conf: []string{
		fmt.Sprintf("listeners.ssl.default = 127.0.0.1:%d", tlsPort),
		"ssl_options.cacertfile = " + p.ca,
		"ssl_options.certfile = " + p.serverCert,
		"ssl_options.keyfile = " + p.serverKey,
		"ssl_options.verify = verify_peer",
		"ssl_options.fail_if_no_peer_cert = true",
	}})
	url := func(host string) string { return "rabbit://guest:guest@" + host + ":" + strconv.Itoa(tlsPort) + "/" }
	sslOn := []string{"ssl = true", "ssl_ca_file = " + p.ca, "ssl_cert_file = " + p.clientCert, "ssl_key_file = " + p.clientKey}

	dial := func(t *testing.T, rawURL string, c *config.Config) error {
		t.Helper()
		tc, err := c.RabbitTLS()
		if err != nil {
			t.Fatal(err)
		}
		u, err := amqpurl.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := amqpurl.Dial(ctx, u, u.Hosts[0], amqpurl.DialOptions{TLS: tc, Name: "tls-probe", Timeout: 10 * time.Second})
		if err == nil {
			_ = conn.Close()
		}
		return err
	}

	t.Run("cast and call over TLS", func(t *testing.T) {
		c := rabbitConf(t, sslOn...)
		tc, err := c.RabbitTLS()
		if err != nil || tc == nil {
			t.Fatalf("RabbitTLS: %v, %v", tc, err)
		}
		e := &env{kind: "rabbit", url: url("localhost"), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_"), reg: prometheus.NewPedanticRegistry()}
		tr := e.open(t, func(o *Options) { o.TLS = tc })
		rec := newRecorder()
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		cl := e.client(t, tr, ClientConfig{Timeout: 20 * time.Second})
		ctx := bg(t)
		if err := cl.Cast(ctx, "record", RecordArgs{N: 7}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the cast over TLS", func() bool { return rec.count(7) == 1 })
		var out EchoArgs
		if err := cl.Call(ctx, "echo", EchoArgs{Value: 42}, &out); err != nil || out.Value != 42 {
			t.Fatalf("call over TLS: %v %+v", err, out)
		}
		conns := n.Ctl(t, "list_connections", "port", "ssl", "peer_cert_subject")
		var tlsConns int
		for _, line := range strings.Split(conns, "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == strconv.Itoa(tlsPort) {
				if f[1] != "true" || !strings.Contains(line, "gonova-client") {
					t.Errorf("a connection to the TLS port is not TLS with the client certificate: %q", line)
				}
				tlsConns++
			}
		}
		if tlsConns == 0 {
			t.Errorf("no connection on the TLS port %d:\n%s", tlsPort, conns)
		}
	})

	t.Run("plaintext to the TLS port fails", func(t *testing.T) {
		if err := dial(t, url("localhost"), rabbitConf(t)); err == nil {
			t.Fatal("ssl = false reached the TLS listener")
		}
	})

	t.Run("no client certificate", func(t *testing.T) {
		err := dial(t, url("localhost"), rabbitConf(t, "ssl = true", "ssl_ca_file = "+p.ca))
		if err == nil {
			t.Fatal("the node requires a client certificate, and took a connection without one")
		}
		if !strings.Contains(err.Error(), "client certificate") {
			t.Errorf("without a client certificate: %v, want an error that names the client certificate", err)
		}
		t.Logf("without a client certificate: %v", err)
	})

	t.Run("wrong CA", func(t *testing.T) {
		err := dial(t, url("localhost"), rabbitConf(t, "ssl = true", "ssl_ca_file = "+p.otherCA, "ssl_cert_file = "+p.clientCert, "ssl_key_file = "+p.clientKey))
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("a CA that did not sign the broker's certificate: %v", err)
		}
	})

	t.Run("hostname verification", func(t *testing.T) {
		// The server's certificate names localhost, not 127.0.0.1.
		err := dial(t, url("127.0.0.1"), rabbitConf(t, sslOn...))
		if err == nil || !strings.Contains(err.Error(), "certificate for 127.0.0.1") {
			t.Fatalf("ssl_enforce_hostname_verification (default true) and a name the certificate does not cover: %v", err)
		}
		if err := dial(t, url("127.0.0.1"), rabbitConf(t, append(sslOn, "ssl_enforce_hostname_verification = false")...)); err != nil {
			t.Fatalf("ssl_enforce_hostname_verification = false checks the chain only: %v", err)
		}
		if err := dial(t, url("127.0.0.1"), rabbitConf(t, "ssl = true", "ssl_ca_file = "+p.otherCA, "ssl_cert_file = "+p.clientCert, "ssl_key_file = "+p.clientKey, "ssl_enforce_hostname_verification = false")); err == nil {
			t.Fatal("ssl_enforce_hostname_verification = false accepted a chain to another CA")
		}
	})
}
