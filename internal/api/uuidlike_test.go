package api

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// uuidSpellings are strings oslo's is_uuid_like accepts or refuses in
// interesting ways.
var uuidSpellings = []string{
	"70a599e0-31e7-49b7-b260-868f441e862b", "70A599E0-31E7-49B7-B260-868F441E862B",
	"70a599e031e749b7b260868f441e862b", "{70a599e0-31e7-49b7-b260-868f441e862b}",
	"urn:uuid:70a599e0-31e7-49b7-b260-868f441e862b", "uuid:70a599e0-31e7-49b7-b260-868f441e862b",
	"urn:70a599e0-31e7-49b7-b260-868f441e862b", "{{70a599e0-31e7-49b7-b260-868f441e862b}}",
	"{70a599e0-31e7-49b7-b260-868f441e862b", "70a5-99e0-31e7-49b7-b260-868f-441e-862b",
	"70a599e0-31e7-49b7-b260-868f441e862", "70a599e0-31e7-49b7-b260-868f441e862bb",
	"70a599e0-31e7-49b7-b260-868f441e862g", "URN:UUID:70a599e0-31e7-49b7-b260-868f441e862b",
	"+0a599e0-31e7-49b7-b260-868f441e862b", "70a599e0_31e7_49b7_b260_868f441e862b",
	" 70a599e0-31e7-49b7-b260-868f441e862b", "0x70a599e031e749b7b260868f441e862b",
	"urn:uuid:{70a599e0-31e7-49b7-b260-868f441e862b}", "{urn:uuid:70a599e0-31e7-49b7-b260-868f441e862b}",
	"", "1", "abc", "--------------------------------", "00000000000000000000000000000000",
	"٣0a599e0-31e7-49b7-b260-868f441e862b",
}

// TestUUIDLikeIsOslos decides every spelling with oslo.utils' own
// is_uuid_like (Debian's python3-oslo.utils), and the canonical form is
// the one Python's uuid module gives.
func TestUUIDLikeIsOslos(t *testing.T) {
	testenv.RequirePythonModules(t, "run scripts/services.sh (python3-oslo.messaging brings python3-oslo.utils)", "oslo_utils")
	in, err := json.Marshal(uuidSpellings)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.PythonPath, "-c", `
import json, sys, uuid
from oslo_utils import uuidutils
out = []
for s in json.load(sys.stdin):
    ok = uuidutils.is_uuid_like(s)
    out.append([ok, str(uuid.UUID(s)) if ok else ""])
print(json.dumps(out))`)
	cmd.Stdin = strings.NewReader(string(in))
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][2]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	for i, s := range uuidSpellings {
		canon, ok := uuidLike(s)
		if ok != want[i][0].(bool) || canon != want[i][1].(string) {
			t.Errorf("uuidLike(%q) = %q, %v; oslo: %v %q", s, canon, ok, want[i][0], want[i][1])
		}
	}
}
