package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// selfSignedPEM is a CA certificate and its key, PEM.
func selfSignedPEM(t *testing.T) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gonova test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// ssl = true builds a TLS configuration (TLS 1.2 at least, the CA of
// ssl_ca_file, the client certificate): before, ssl was parsed and unused,
// and the connection went in plaintext.
func TestRabbitSSLBuildsTLSConfig(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSignedPEM(t)
	ca := write(t, dir, "ca.pem", string(certPEM))
	key := write(t, dir, "key.pem", string(keyPEM))

	c, _, err := parse(t, []string{"--config-file", write(t, dir, "off.conf", "[oslo_messaging_rabbit]\nssl_ca_file = /nonexistent\n")}, nil)
	if err != nil {
		t.Fatalf("ssl = false: the other ssl options are not read (as oslo): %v", err)
	}
	if tc, err := c.RabbitTLS(); tc != nil || err != nil {
		t.Fatalf("ssl = false: RabbitTLS = %v, %v; want nil", tc, err)
	}
	if !c.Rabbit.SSLEnforceHostnameVerification {
		t.Error("ssl_enforce_hostname_verification defaults to true (oslo.messaging's newest default)")
	}

	conf := "[oslo_messaging_rabbit]\nssl = true\nssl_ca_file = " + ca + "\nssl_cert_file = " + ca + "\nssl_key_file = " + key + "\n"
	c, _, err = parse(t, []string{"--config-file", write(t, dir, "on.conf", conf)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.RabbitTLS()
	if err != nil || tc == nil {
		t.Fatalf("ssl = true: RabbitTLS = %v, %v", tc, err)
	}
	if tc.MinVersion != tls.VersionTLS12 || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.InsecureSkipVerify {
		t.Errorf("TLS config: min %x, roots %v, %d certificates, skip verify %v", tc.MinVersion, tc.RootCAs != nil, len(tc.Certificates), tc.InsecureSkipVerify)
	}

	c, _, err = parse(t, []string{"--config-file", write(t, dir, "nohost.conf", conf+"ssl_enforce_hostname_verification = false\nssl_version = TLSv1_2\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc, err = c.RabbitTLS()
	if err != nil || !tc.InsecureSkipVerify || tc.VerifyConnection == nil || tc.MaxVersion != tls.VersionTLS12 {
		t.Fatalf("no hostname check: the chain is verified by VerifyConnection; tlsv1_2 pins TLS 1.2: %+v, %v", tc, err)
	}
}

// A file that cannot be read or parsed stops the start with an error that
// names the option and the file, never the file's content.
func TestRabbitSSLFileErrors(t *testing.T) {
	dir := t.TempDir()
	certPEM, _ := selfSignedPEM(t)
	cert := write(t, dir, "cert.pem", string(certPEM))
	secret := write(t, dir, "bad.key", "-----BEGIN PRIVATE KEY-----\nWq7SecretKeyBytesZz\n-----END PRIVATE KEY-----\n")
	garbage := write(t, dir, "garbage.pem", "Wq7SecretKeyBytesZz\n")
	cases := []struct{ name, conf, want string }{
		{"missing CA", "ssl_ca_file = " + dir + "/none.pem", "ssl_ca_file"},
		{"CA without a certificate", "ssl_ca_file = " + garbage, "ssl_ca_file " + garbage},
		{"bad key", "ssl_cert_file = " + cert + "\nssl_key_file = " + secret, "ssl_key_file " + secret},
		{"missing key", "ssl_cert_file = " + cert + "\nssl_key_file = " + dir + "/none.key", "ssl_key_file"},
		{"key without cert", "ssl_key_file = " + secret, "ssl_key_file is set without ssl_cert_file"},
		{"bad ssl_version", "ssl_version = tlsv9", "ssl_version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := write(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".conf", "[oslo_messaging_rabbit]\nssl = true\n"+tc.conf+"\n")
			_, _, err := parse(t, []string{"--config-file", f}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Wq7Secret") {
				t.Fatalf("error %v: want one naming %q and showing no file content", err, tc.want)
			}
		})
	}
}
