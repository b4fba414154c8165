package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// testPublicKey is an RSA key made by ssh-keygen; testFingerprint is what
// `ssh-keygen -l -E md5` prints of it (nova's fingerprint is that MD5).
const (
	testPublicKey   = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDpbpEJygAjj17iqzLx8/FNmhyq2N4AxtgYIsEq1X7U41/ZE62GtC40K2DMsFCLV+RlJazmMLkSnu4lxQqoAFWNJut2Q2119ul4h1XR+Ij769fw11w4fPzmO91Jkl3UaeffnHpNw62bFZxmgjMZ4+V/R2AlDlsWbugc91Tlrwb0XQ== root@vm"
	testFingerprint = "7e:ba:3f:78:92:b0:21:a8:0e:21:98:a2:d7:7c:73:51"
)

func keypairBody(kp map[string]any) map[string]any { return map[string]any{"keypair": kp} }

func TestKeypairsGenerateImportShowDelete(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		// 2.1: a generated key pair, 200, no type; the private key once.
		r := e.do("POST", "/v2.1/os-keypairs", alice, "2.1", keypairBody(map[string]any{"name": "gen"}))
		r.want(t, 200)
		kp := obj(t, r.Body["keypair"])
		if _, ok := kp["type"]; ok || kp["user_id"] != "alice" {
			t.Fatalf("2.1 create %s", r.Raw)
		}
		pub := kp["public_key"].(string)
		if !strings.HasPrefix(pub, "ssh-rsa ") || !strings.HasSuffix(pub, " Generated-by-Nova") {
			t.Fatalf("public key %q", pub)
		}
		signer, err := ssh.ParsePrivateKey([]byte(kp["private_key"].(string)))
		if err != nil {
			t.Fatalf("private key: %v", err)
		}
		if got := signer.PublicKey().Type() + " " + strings.Fields(pub)[1]; !strings.HasPrefix(pub, got) {
			t.Fatalf("private key does not match the public one")
		}
		if fp, _ := sshFingerprint(pub); kp["fingerprint"] != fp || len(fp) != 47 {
			t.Fatalf("fingerprint %v", kp["fingerprint"])
		}
		// import: the fingerprint as ssh-keygen computes it, no private key.
		r = e.do("POST", "/v2.1/os-keypairs", alice, "2.2", keypairBody(map[string]any{"name": "imp", "public_key": testPublicKey}))
		r.want(t, 201)
		kp = obj(t, r.Body["keypair"])
		if kp["fingerprint"] != testFingerprint || kp["type"] != "ssh" || kp["public_key"] != testPublicKey {
			t.Fatalf("import %s", r.Raw)
		}
		if _, ok := kp["private_key"]; ok {
			t.Fatalf("import returned a private key: %s", r.Raw)
		}
		e.do("POST", "/v2.1/os-keypairs", alice, "", keypairBody(map[string]any{"name": "imp", "public_key": testPublicKey})).
			wantFault(t, 409, "Key pair 'imp' already exists.")
		e.do("POST", "/v2.1/os-keypairs", alice, "", keypairBody(map[string]any{"name": "bad", "public_key": "ssh-rsa AAAA"})).
			wantFault(t, 400, "Keypair data is invalid: failed to generate fingerprint")
		e.do("POST", "/v2.1/os-keypairs", alice, "2.1", keypairBody(map[string]any{"name": "t", "type": "ssh"})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/os-keypairs", alice, "2.2", keypairBody(map[string]any{"name": "t", "type": "pgp"})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/os-keypairs", alice, "2.91", keypairBody(map[string]any{"name": "a@b", "public_key": testPublicKey})).
			wantFault(t, 400, "An invalid 'name' value was provided. The name must be: Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]")
		// 2.92: import only, and '@' and '.' in names.
		e.do("POST", "/v2.1/os-keypairs", alice, "2.92", keypairBody(map[string]any{"name": "new"})).
			wantFault(t, 400, "Invalid input for field/attribute keypair. Value: {'name': 'new'}. 'public_key' is a required property")
		e.do("POST", "/v2.1/os-keypairs", alice, "2.92", keypairBody(map[string]any{"name": "me@host.x", "public_key": testPublicKey})).want(t, 201)
		// x509: generated and imported.
		r = e.do("POST", "/v2.1/os-keypairs", alice, "2.2", keypairBody(map[string]any{"name": "cert", "type": "x509"}))
		r.want(t, 201)
		cert := obj(t, r.Body["keypair"])
		if cert["type"] != "x509" || !strings.HasPrefix(cert["public_key"].(string), "-----BEGIN CERTIFICATE-----") || len(cert["fingerprint"].(string)) != 59 {
			t.Fatalf("x509 %s", r.Raw)
		}
		r = e.do("POST", "/v2.1/os-keypairs", bob, "2.2", keypairBody(map[string]any{"name": "cert", "type": "x509", "public_key": cert["public_key"]}))
		if r.want(t, 201); obj(t, r.Body["keypair"])["fingerprint"] != cert["fingerprint"] {
			t.Fatalf("imported x509 %s", r.Raw)
		}

		r = e.do("GET", "/v2.1/os-keypairs/imp", alice, "2.2", nil)
		r.want(t, 200)
		kp = obj(t, r.Body["keypair"])
		for _, k := range []string{"created_at", "deleted", "deleted_at", "id", "updated_at", "user_id", "name", "public_key", "fingerprint", "type"} {
			if _, ok := kp[k]; !ok {
				t.Errorf("show lacks %s: %s", k, r.Raw)
			}
		}
		e.do("GET", "/v2.1/os-keypairs/imp", bob, "", nil).wantFault(t, 404, "Keypair imp not found for user bob")
		e.do("DELETE", "/v2.1/os-keypairs/imp", alice, "2.1", nil).want(t, 202)
		e.do("DELETE", "/v2.1/os-keypairs/gen", alice, "2.2", nil).want(t, 204)
		e.do("DELETE", "/v2.1/os-keypairs/gen", alice, "2.2", nil).wantFault(t, 404, "Keypair gen not found for user alice")
		e.do("GET", "/v2.1/os-keypairs/x?foo=1", alice, "2.75", nil).wantFault(t, 400, "")
	})
}

func TestKeypairsListPagesAndOtherUsers(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		for i := 1; i <= 3; i++ {
			e.do("POST", "/v2.1/os-keypairs", alice, "", keypairBody(map[string]any{"name": fmt.Sprintf("k%d", i), "public_key": testPublicKey})).want(t, 200)
		}
		names := func(r resp) string {
			t.Helper()
			r.want(t, 200)
			var out []string
			for _, x := range list(t, r.Body["keypairs"]) {
				out = append(out, obj(t, obj(t, x)["keypair"])["name"].(string))
			}
			return strings.Join(out, ",")
		}
		if got := names(e.do("GET", "/v2.1/os-keypairs", alice, "", nil)); got != "k1,k2,k3" {
			t.Fatalf("list %s", got)
		}
		r := e.do("GET", "/v2.1/os-keypairs?limit=1&marker=k1", alice, "2.35", nil)
		if got := names(r); got != "k2" || !strings.Contains(obj(t, list(t, r.Body["keypairs_links"])[0])["href"].(string), "marker=k2") {
			t.Fatalf("page %s", r.Raw)
		}
		// Before 2.35 limit is not a parameter.
		if got := names(e.do("GET", "/v2.1/os-keypairs?limit=1", alice, "2.34", nil)); got != "k1,k2,k3" {
			t.Fatalf("2.34 limit %s", got)
		}
		e.do("GET", "/v2.1/os-keypairs?marker=nope", alice, "2.35", nil).wantFault(t, 400, "Marker nope could not be found.")
		e.do("GET", "/v2.1/os-keypairs?foo=1", alice, "2.75", nil).wantFault(t, 400, "Additional properties are not allowed ('foo' was unexpected)")
		if got := names(e.do("GET", "/v2.1/os-keypairs", bob, "", nil)); got != "" {
			t.Fatalf("bob sees %s", got)
		}
		// 2.10: an admin acts for another user; a user may not.
		e.do("POST", "/v2.1/os-keypairs", alice, "2.10", keypairBody(map[string]any{"name": "x", "user_id": "bob", "public_key": testPublicKey})).wantFault(t, 403, "")
		e.do("POST", "/v2.1/os-keypairs", admin, "2.10", keypairBody(map[string]any{"name": "forbob", "user_id": "bob", "public_key": testPublicKey})).want(t, 201)
		e.do("POST", "/v2.1/os-keypairs", admin, "2.9", keypairBody(map[string]any{"name": "x", "user_id": "bob", "public_key": testPublicKey})).wantFault(t, 400, "")
		if got := names(e.do("GET", "/v2.1/os-keypairs", bob, "", nil)); got != "forbob" {
			t.Fatalf("bob lists %s", got)
		}
		if got := names(e.do("GET", "/v2.1/os-keypairs?user_id=bob", admin, "2.10", nil)); got != "forbob" {
			t.Fatalf("admin lists bob's: %s", got)
		}
		e.do("GET", "/v2.1/os-keypairs?user_id=bob", alice, "2.10", nil).wantFault(t, 403, "")
		e.do("GET", "/v2.1/os-keypairs/forbob?user_id=bob", admin, "2.10", nil).want(t, 200)
		e.do("DELETE", "/v2.1/os-keypairs/forbob?user_id=bob", alice, "2.10", nil).wantFault(t, 403, "")
		e.do("DELETE", "/v2.1/os-keypairs/forbob?user_id=bob", admin, "2.10", nil).want(t, 204)
	})
}

func TestKeypairLimitAndKeyNameAtCreate(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b, func(d *Deps, _ *computeapi.Options) {
				d.MaxMicroversion = microversion.MustParse("2.93")
				d.KeyPairLimit = func(_ context.Context, user string) int {
					if user == "alice" {
						return 2
					}
					return -1
				}
			})
			for i := 1; i <= 2; i++ {
				e.do("POST", "/v2.1/os-keypairs", alice, "", keypairBody(map[string]any{"name": fmt.Sprintf("k%d", i), "public_key": testPublicKey})).want(t, 200)
			}
			e.do("POST", "/v2.1/os-keypairs", alice, "", keypairBody(map[string]any{"name": "k3", "public_key": testPublicKey})).
				wantFault(t, 403, "Quota exceeded, too many key pairs.")
			e.do("POST", "/v2.1/os-keypairs", bob, "", keypairBody(map[string]any{"name": "k3", "public_key": testPublicKey})).want(t, 200)

			e.addNode("c1", 8, 16384, 200)
			body := bootBody("vm", "1")
			body["server"].(map[string]any)["key_name"] = "nope"
			e.do("POST", "/v2.1/servers", alice, "", body).wantFault(t, 400, "Invalid key_name provided.")
			body["server"].(map[string]any)["key_name"] = "k3" // bob's
			e.do("POST", "/v2.1/servers", alice, "", body).wantFault(t, 400, "Invalid key_name provided.")
			body["server"].(map[string]any)["key_name"] = ""
			e.do("POST", "/v2.1/servers", alice, "", body).wantFault(t, 400, "")
			body["server"].(map[string]any)["key_name"] = "k1"
			r := e.do("POST", "/v2.1/servers", alice, "", body)
			r.want(t, 202)
			id := obj(t, r.Body["server"])["id"].(string)
			if s := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "", nil).Body["server"]); s["key_name"] != "k1" {
				t.Fatalf("key_name %v", s["key_name"])
			}
			if s := obj(t, e.do("GET", "/v2.1/servers/"+e.boot(t, alice, "nokey"), alice, "", nil).Body["server"]); s["key_name"] != nil {
				t.Fatalf("key_name without one %v", s["key_name"])
			}
		})
	}
}
