package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// novaclientMax is the newest compute microversion Debian's novaclient
// speaks (API_MAX_VERSION): the openstack CLI refuses a newer
// --os-compute-api-version ("versions supported by client: 2.1 - ...")
// and novaclient's "2.latest" negotiates at most this.
func novaclientMax(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.PythonPath, "-c", "import novaclient; print(novaclient.API_MAX_VERSION.get_string())").Output()
	if err != nil {
		t.Fatalf("novaclient's API_MAX_VERSION: %v", err)
	}
	v := strings.TrimSpace(string(out))
	microversion.MustParse(v)
	return v
}

// lowerVersion is the older of two microversions: what a client and a
// server can both speak.
func lowerVersion(a, b string) string {
	if microversion.MustParse(a).Compare(microversion.MustParse(b)) <= 0 {
		return a
	}
	return b
}
