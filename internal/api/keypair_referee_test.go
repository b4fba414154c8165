package api

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/testenv"
)

// TestKeypairFingerprintsMatchNova: nova 26's crypto (python3-nova) loads
// the public keys gonova generates and computes the same fingerprints, of
// them and of an imported key, ssh and x509.
func TestKeypairFingerprintsMatchNova(t *testing.T) {
	testenv.RequirePython(t, "nova.crypto", "python3-nova")
	_, sshPub, sshFP, err := generateSSHKey()
	if err != nil {
		t.Fatal(err)
	}
	_, cert, certFP, err := generateX509("alice")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]string{"ssh": sshPub, "imported": testPublicKey, "x509": cert})
	const script = `
import json, sys
from nova import crypto
keys = json.load(sys.stdin)
json.dump({"ssh": crypto.generate_fingerprint(keys["ssh"]),
           "imported": crypto.generate_fingerprint(keys["imported"]),
           "x509": crypto.generate_x509_fingerprint(keys["x509"])}, sys.stdout)
`
	cmd := exec.Command(testenv.PythonPath, "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nova: %v\n%s", err, stderr.String())
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	importedFP, err := sshFingerprint(testPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"ssh": sshFP, "imported": importedFP, "x509": certFP} {
		if got[k] != want {
			t.Errorf("%s: gonova %s, nova %s", k, want, got[k])
		}
	}
	if !strings.Contains(got["x509"], ":") {
		t.Fatalf("nova's answer %s", out)
	}
}
