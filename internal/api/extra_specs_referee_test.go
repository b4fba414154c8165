package api

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/gonova/gonova/pkg/testenv"
)

// TestExtraSpecValidationMatchesNova runs nova 26's own extra spec
// validators (python3-nova) on every key nova registers (its parameters
// made concrete) and a set of values, and checks that gonova accepts and
// refuses the same ones with nova's message.
func TestExtraSpecValidationMatchesNova(t *testing.T) {
	testenv.RequirePython(t, "nova.api.validation.extra_specs.validators", "python3-nova")
	values := []string{"", "x", "0", "1", "-1", "8", "9", "99999", "true", "maybe", "required", "forbidden", "dedicated",
		"shared", "isolate", "large", "2MB", "0-3,^2", "^1", "a:1", "a:1, b:2", "luks", "none", "1024x768", "64", "tpm-crb"}
	in, _ := json.Marshal(map[string]any{"values": values})
	cmd := exec.Command(testenv.PythonPath, "testdata/nova_extra_specs_referee.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("referee: %v\n%s", err, stderr.String())
	}
	var rows [][3]string
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 400*len(values)/2 {
		t.Fatalf("only %d cases from the referee", len(rows))
	}
	bad := 0
	for _, r := range rows {
		name, value, want := r[0], r[1], r[2]
		if got := validateExtraSpec(name, value); got != want {
			bad++
			if bad <= 20 {
				t.Errorf("%s=%q: gonova %q, nova %q", name, value, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(rows))
	}
}
