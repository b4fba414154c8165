package manager

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// get_host_uptime crosses the wire to the compute and back with the
// host's `uptime` line from the fake driver.
func TestGetHostUptimeOverRPC(t *testing.T) {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := rpcsvc.Open(c, rpcsvc.Options{
		TransportURL:    "memory://" + testenv.UniqueName("compute_up_"),
		ControlExchange: testenv.UniqueName("compute_upx_"),
		ResponseTimeout: 10 * time.Second,
		Logger:          quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	startCompute(t, tr, computedb.NewMem(), "h1", fake.Options{VCPUs: 2, MemoryMB: 2048, LocalGB: 20})
	api, err := rpcapi.New(tr, rpcapi.Options{VersionCap: "6.0", CallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.GetHostUptime(c, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, " up ") || !strings.Contains(out, "load average: ") {
		t.Fatalf("uptime = %q", out)
	}
}
