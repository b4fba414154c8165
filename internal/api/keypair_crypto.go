package api

import (
	"crypto/md5" //nolint:gosec // nova's fingerprint is an MD5 of the key, not a security measure
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // nova's x509 fingerprint is a SHA-1 of the certificate
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// This file is nova's crypto module for key pairs: fingerprints of
// imported keys, and the keys nova generates.

var errFingerprint = errors.New("failed to generate fingerprint")

// colonHex is nova's fingerprint form: hex pairs joined by ':'.
func colonHex(sum []byte) string {
	h := hex.EncodeToString(sum)
	parts := make([]string, 0, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// sshFingerprint is nova's generate_fingerprint: the key must parse as an
// OpenSSH public key; the fingerprint is the MD5 of its base64 field.
func sshFingerprint(publicKey string) (string, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return "", errFingerprint
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return "", errFingerprint
	}
	fields := strings.Split(publicKey, " ")
	if len(fields) < 2 {
		return "", errFingerprint
	}
	raw, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", errFingerprint
	}
	sum := md5.Sum(raw) //nolint:gosec // see the import
	return colonHex(sum[:]), nil
}

// x509Fingerprint is nova's generate_x509_fingerprint: the SHA-1 of a PEM
// certificate.
func x509Fingerprint(pemKey string) (string, error) {
	block, _ := pem.Decode([]byte(pemKey))
	if block == nil {
		return "", errors.New("failed to generate X509 fingerprint. Error message: Unable to load PEM file")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", errors.New("failed to generate X509 fingerprint. Error message: " + err.Error())
	}
	sum := sha1.Sum(cert.Raw) //nolint:gosec // see the import
	return colonHex(sum[:]), nil
}

// generateSSHKey is nova's generate_key_pair: an RSA key of 2048 bits, its
// private key in PEM (PKCS#1, as paramiko writes it) and its public key as
// "ssh-rsa <base64> Generated-by-Nova".
func generateSSHKey() (private, public, fingerprint string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", "", err
	}
	private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", "", err
	}
	public = pub.Type() + " " + base64.StdEncoding.EncodeToString(pub.Marshal()) + " Generated-by-Nova"
	fingerprint, err = sshFingerprint(public)
	return private, public, fingerprint, err
}

// generateX509 is nova's generate_winrm_x509_cert: a self-signed client
// certificate for user, valid ten years, with its RSA key.
func generateX509(user string) (private, certPEM, fingerprint string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return "", "", "", err
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: user},
		NotBefore:    now,
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", "", err
	}
	private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	fingerprint, err = x509Fingerprint(certPEM)
	return private, certPEM, fingerprint, err
}
