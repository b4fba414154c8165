package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// childPIDs lists the processes whose parent is pid (Linux /proc). A
// process's children are listed per thread (task), and the launcher forks
// from a locked thread that need not be the main one: read every task's.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
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

// backdoor_port = N with 2 API workers: one worker gets the port, the other
// runs on without a backdoor; no worker dies and is respawned. With a range
// of two ports, each worker gets one.
func TestAPIWorkersWithBackdoorDoNotCrashLoop(t *testing.T) {
	d := newDeployment(t)
	for _, c := range []struct {
		name    string
		ports   func(first int) string
		serving int
	}{
		{"one port", func(p int) string { return strconv.Itoa(p) }, 1},
		{"a range", func(p int) string { return fmt.Sprintf("%d:%d", p, p+1) }, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := freeAddr(t)
			host, port := splitHostPort(t, addr)
			first := twoFreePorts(t)
			api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
				"DEFAULT": {"host": "api-host", "transport_url": "memory://workers-backdoor", "osapi_compute_listen": host,
					"osapi_compute_listen_port": port, "osapi_compute_workers": "2", "graceful_shutdown_timeout": "20",
					"backdoor_port": c.ports(first)},
				"api":      {"auth_strategy": "noauth2"},
				"database": {"connection": d.dbURL},
			}))
			waitHealthy(t, api, "http://"+addr, 30*time.Second)
			var workers []int
			eventually(t, 15*time.Second, "two worker processes", func() error {
				if workers = childPIDs(api.cmd.Process.Pid); len(workers) != 2 {
					return fmt.Errorf("children %v", workers)
				}
				return nil
			})
			// Long enough for a crash loop to show: a dying worker is respawned
			// within about a second.
			time.Sleep(3 * time.Second)
			if now := childPIDs(api.cmd.Process.Pid); fmt.Sprint(now) != fmt.Sprint(workers) {
				t.Fatalf("workers changed from %v to %v: a worker died\n%s", workers, now, tail(api.out.String(), 40))
			}
			serving := 0
			for p := first; p <= first+1; p++ {
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p))
				if err == nil {
					resp.Body.Close()
					serving++
				}
			}
			if serving != c.serving {
				t.Errorf("%d backdoors answer, want %d", serving, c.serving)
			}
			if code := api.stop(t, 40*time.Second); code != 0 {
				t.Fatalf("nova-api parent exited %d after SIGTERM", code)
			}
		})
	}
}

// twoFreePorts returns p such that p and p+1 are both free on 127.0.0.1 now.
func twoFreePorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		a.Close()
		if err == nil {
			b.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports found")
	return 0
}

// nova-api with 2 workers: 200 requests spread over both, and every scrape of
// api_metrics_listen shows all 200 (the parent gathers each worker's
// registry), never one worker's share.
func TestAPIWorkersMetricsShowTheWholeGroup(t *testing.T) {
	d := newDeployment(t)
	addr := freeAddr(t)
	host, port := splitHostPort(t, addr)
	metrics := freeAddr(t)
	api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
		"DEFAULT": {"host": "api-host", "transport_url": "memory://workers-metrics", "osapi_compute_listen": host,
			"osapi_compute_listen_port": port, "osapi_compute_workers": "2", "graceful_shutdown_timeout": "20"},
		"api":      {"auth_strategy": "noauth2"},
		"database": {"connection": d.dbURL},
		"gonova":   {"api_metrics_listen": metrics},
	}))
	waitHealthy(t, api, "http://"+addr, 30*time.Second)
	eventually(t, 15*time.Second, "two worker processes", func() error {
		if w := childPIDs(api.cmd.Process.Pid); len(w) != 2 {
			return fmt.Errorf("children %v", w)
		}
		return nil
	})
	c := apiClient{base: "http://" + addr, token: "admin:admin", version: "2.53"}
	const requests = 200
	for i := 0; i < requests; i++ {
		http.DefaultClient.CloseIdleConnections() // spread the requests over both workers
		if code, err := c.do(http.MethodGet, "/v2.1/os-services", nil, nil); err != nil || code != http.StatusOK {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	perWorker := map[string]float64{}
	for scrape := 0; scrape < 12; scrape++ {
		total, by := scrapeRequests(t, "http://"+metrics+"/metrics", "/v2.1/os-services")
		if total != requests {
			t.Fatalf("scrape %d shows %v requests, want %d (by worker %v)", scrape, total, requests, by)
		}
		perWorker = by
	}
	if len(perWorker) != 2 || perWorker["0"] == 0 || perWorker["1"] == 0 {
		t.Errorf("requests by worker %v: want both workers to have served some", perWorker)
	}
	if code := api.stop(t, 40*time.Second); code != 0 {
		t.Fatalf("nova-api parent exited %d after SIGTERM", code)
	}
}

// scrapeRequests sums gonova_http_requests_total for route over a scrape,
// in all and by the worker label.
func scrapeRequests(t *testing.T, url, route string) (float64, map[string]float64) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	total, by := 0.0, map[string]float64{}
	for _, m := range families["gonova_http_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["route"] != route {
			continue
		}
		total += m.GetCounter().GetValue()
		by[labels["worker"]] += m.GetCounter().GetValue()
	}
	return total, by
}
