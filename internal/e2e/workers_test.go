package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childPIDs lists the processes whose parent is pid (Linux /proc).
func childPIDs(pid int) []int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// nova-api with osapi_compute_workers = 2: a parent binds the port and runs two
// worker processes that serve on the inherited socket; requests succeed, and
// SIGTERM to the parent stops the workers and exits 0.
func TestAPIWorkersShareOnePort(t *testing.T) {
	d := newDeployment(t)
	addr := freeAddr(t)
	host, port := splitHostPort(t, addr)
	api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
		"DEFAULT": {"host": "api-host", "transport_url": "memory://workers", "osapi_compute_listen": host,
			"osapi_compute_listen_port": port, "osapi_compute_workers": "2", "graceful_shutdown_timeout": "20"},
		"api":      {"auth_strategy": "noauth2"},
		"database": {"connection": d.dbURL},
	}))
	waitHealthy(t, api, "http://"+addr, 30*time.Second)
	var workers []int
	eventually(t, 15*time.Second, "two worker processes", func() error {
		workers = childPIDs(api.cmd.Process.Pid)
		if len(workers) != 2 {
			return fmt.Errorf("children %v", workers)
		}
		return nil
	})
	c := apiClient{base: "http://" + addr, token: "admin:admin", version: "2.53"}
	for i := 0; i < 20; i++ {
		// A fresh connection each time, so both workers' accept loops get work.
		http.DefaultClient.CloseIdleConnections()
		var out struct {
			Services []any `json:"services"`
		}
		if code, err := c.do(http.MethodGet, "/v2.1/os-services", nil, &out); err != nil || code != http.StatusOK {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	if code := api.stop(t, 40*time.Second); code != 0 {
		t.Fatalf("nova-api parent exited %d after SIGTERM", code)
	}
	for _, pid := range workers {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(st), ") Z ") {
				t.Errorf("worker %d still runs after the parent stopped", pid)
			}
		}
	}
}
