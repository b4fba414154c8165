package amqpurl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TLSOptions are oslo.messaging's [oslo_messaging_rabbit] TLS options.
type TLSOptions struct {
	// SSL (ssl) turns TLS on; so do amqps:// and ?ssl=1 in transport_url.
	SSL bool
	// CAFile (ssl_ca_file) is a PEM file of the CAs the broker's chain must
	// lead to; empty means the system's roots.
	CAFile string
	// CertFile and KeyFile (ssl_cert_file, ssl_key_file) are the PEM client
	// certificate and key presented to a broker that asks for one. KeyFile
	// empty means the key is in CertFile (as Python's load_cert_chain).
	CertFile, KeyFile string
	// EnforceHostnameVerification (ssl_enforce_hostname_verification, oslo's
	// default true): with CAFile set, false checks the chain only and not the
	// broker's name. Without CAFile gonova always checks the name (oslo does
	// not: a chain to any public CA would pass).
	EnforceHostnameVerification bool
	// Version (ssl_version): "", sslv23 and tlsv1_2 are accepted; TLS 1.2 is
	// always the minimum, so tlsv1, tlsv1_1, sslv2 and sslv3 are ignored
	// (the caller logs it); anything else is an error.
	Version string
}

// Config builds the TLS client configuration of o, or nil when o.SSL is
// false (then the other options, like oslo's, are not read, and a URL with
// amqps:// or ?ssl=1 gets Dial's default: the system's roots). Dial sets ServerName per broker. Errors name the
// option and its file, never the file's content.
func (o TLSOptions) Config() (*tls.Config, error) {
	if !o.SSL {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch v := strings.ToLower(o.Version); v {
	case "", "sslv23", "tlsv1", "tlsv1_1", "sslv2", "sslv3":
	case "tlsv1_2":
		cfg.MaxVersion = tls.VersionTLS12
	default:
		return nil, fmt.Errorf("[oslo_messaging_rabbit] ssl_version %q is not one of sslv23, tlsv1_2 (tlsv1, tlsv1_1, sslv2, sslv3 are accepted and ignored: gonova speaks TLS 1.2 or later)", o.Version)
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("[oslo_messaging_rabbit] ssl_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("[oslo_messaging_rabbit] ssl_ca_file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
		if !o.EnforceHostnameVerification {
			// Check the chain against the CA, not the name.
			cfg.InsecureSkipVerify = true
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("tls: the broker sent no certificate")
				}
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
				return err
			}
		}
	}
	if o.KeyFile != "" && o.CertFile == "" {
		return nil, errors.New("[oslo_messaging_rabbit] ssl_key_file is set without ssl_cert_file")
	}
	if o.CertFile != "" {
		key := o.KeyFile
		if key == "" {
			key = o.CertFile
		}
		if err := readable("ssl_cert_file", o.CertFile); err != nil {
			return nil, err
		}
		if err := readable("ssl_key_file", key); err != nil {
			return nil, err
		}
		// tls's errors name no key material.
		cert, err := tls.LoadX509KeyPair(o.CertFile, key)
		if err != nil {
			return nil, fmt.Errorf("[oslo_messaging_rabbit] ssl_cert_file %s / ssl_key_file %s: %v", o.CertFile, key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func readable(opt, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("[oslo_messaging_rabbit] %s: %w", opt, err)
	}
	return f.Close()
}
