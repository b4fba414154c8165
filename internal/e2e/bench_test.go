package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/pgtest"
)

// startupToReady starts a process and returns how long it took until its
// /healthcheck answered 200, and its resident memory then (VmRSS, bytes).
func startupToReady(b *testing.B, bin, name, health string, args ...string) (time.Duration, int64) {
	b.Helper()
	t0 := time.Now()
	p := startArgs(b, bin, name, args...)
	deadline := t0.Add(30 * time.Second)
	for {
		if ok := healthy(health); ok {
			break
		}
		select {
		case <-p.done:
			b.Fatalf("%s exited during start-up: %v\n%s", name, p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready in 30 s\n%s", name, p.out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	ready := time.Since(t0)
	rss := vmRSS(b, p.cmd.Process.Pid)
	if code := p.stop(b, 30*time.Second); code != 0 {
		b.Fatalf("%s exited %d", name, code)
	}
	return ready, rss
}

func healthy(base string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthcheck", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func vmRSS(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkComputeStartupToReady: nova-compute on Postgres and RabbitMQ, from
// exec to /healthcheck 200 (every start-up step done: row, RPC server,
// heartbeats, periodic tasks), and its resident memory then; beside a bare Go
// net/http process that only answers /healthcheck, in the same run.
func BenchmarkComputeStartupToReady(b *testing.B) {
	d := newDeployment(b)
	var gonova, bare time.Duration
	var gonovaRSS, bareRSS int64
	for i := 0; i < b.N; i++ {
		addr := freeAddr(b)
		conf := d.computeConf(b, "bench-host", addr)
		dt, rss := startupToReady(b, "nova-compute", "nova-compute", "http://"+addr, "--config-file", conf)
		gonova += dt
		gonovaRSS = max(gonovaRSS, rss)
		baddr := freeAddr(b)
		dt, rss = startupToReady(b, "bareapi", "bareapi", "http://"+baddr, "-listen", baddr)
		bare += dt
		bareRSS = max(bareRSS, rss)
	}
	n := float64(b.N)
	b.ReportMetric(float64(gonova.Microseconds())/n/1000, "ready_ms")
	b.ReportMetric(float64(bare.Microseconds())/n/1000, "bare_ready_ms")
	b.ReportMetric(float64(gonovaRSS)/(1<<20), "rss_MiB")
	b.ReportMetric(float64(bareRSS)/(1<<20), "bare_rss_MiB")
	b.ReportMetric(0, "ns/op")
}

type loadResult struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
}

func load(b *testing.B, url, token, version string, d time.Duration) loadResult {
	b.Helper()
	out, err := exec.Command(filepath.Join(binDir, "loadgen"), "-url", url, "-c", "16", "-d", d.String(), "-token", token, "-version", version).Output()
	if err != nil {
		b.Fatalf("loadgen %s: %v", url, err)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatal(err)
	}
	if r.Errors > 0 || r.Requests == 0 {
		b.Fatalf("loadgen %s: %+v", url, r)
	}
	return r
}

// BenchmarkAPIUnderLoad: GET /v2.1/os-services over 1,000 service rows and
// GET /v2.1/servers over 1,000 servers, from 16 connections of a separate
// load-generating process, beside a bare pgx + net/http process answering the
// same query in the same run: the ratio is the framework's overhead
// (middleware, auth, policy, microversions, nova's view).
func BenchmarkAPIUnderLoad(b *testing.B) {
	d := newDeployment(b)
	pool := pgtest.OpenPool(b, d.dbURL)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (uuid, host, "binary", topic, report_count, last_seen_up)
		SELECT gen_random_uuid(), 'host-' || g, 'nova-compute', 'compute', 1, now() FROM generate_series(1, 1000) g`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO instances (uuid, display_name, user_id, project_id, host, node, vm_state, power_state, flavor_id, vcpus, memory_mb, root_gb, image_ref)
		SELECT gen_random_uuid(), 'vm-' || g, 'u1', 'p1', 'host-' || (g % 1000 + 1), 'host-' || (g % 1000 + 1), 'active', 1, '1', 1, 512, 1, '70a599e0-31e7-49b7-b260-868f441e862b'
		FROM generate_series(1, 1000) g`); err != nil {
		b.Fatal(err)
	}
	apiAddr := freeAddr(b)
	host, port := splitHostPort(b, apiAddr)
	api := start(b, "nova-api", "nova-api", writeConf(b, "api.conf", map[string]map[string]string{
		"DEFAULT":  {"host": "api-host", "transport_url": "memory://bench", "osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1"},
		"api":      {"auth_strategy": "noauth2"},
		"database": {"connection": d.dbURL, "max_pool_size": "16"},
	}))
	waitHealthy(b, api, "http://"+apiAddr, 30*time.Second)
	bareAddr := freeAddr(b)
	bare := startArgs(b, "bareapi", "bareapi", "-listen", bareAddr, "-db", d.dbURL)
	waitHealthy(b, bare, "http://"+bareAddr, 30*time.Second)

	cases := []struct{ name, gonova, bare, token, version string }{
		{"os-services_1000", "/v2.1/os-services", "/services", "admin:admin", "2.53"},
		{"servers_1000", "/v2.1/servers", "/servers", "u1:p1", "2.53"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var g, r loadResult
			for i := 0; i < b.N; i++ {
				// Warm both, then measure each for the same time.
				load(b, "http://"+apiAddr+c.gonova, c.token, c.version, 300*time.Millisecond)
				load(b, "http://"+bareAddr+c.bare, "", "", 300*time.Millisecond)
				g = load(b, "http://"+apiAddr+c.gonova, c.token, c.version, 3*time.Second)
				r = load(b, "http://"+bareAddr+c.bare, "", "", 3*time.Second)
			}
			b.ReportMetric(g.RPS, "req/s")
			b.ReportMetric(r.RPS, "bare_req/s")
			b.ReportMetric(g.RPS/r.RPS, "ratio_vs_bare")
			b.ReportMetric(g.P99, "p99_ms")
			b.ReportMetric(r.P99, "bare_p99_ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkServersDetailNameFilter: GET /v2.1/servers/detail?name=^vm-12
// over 10,000 servers of one project (111 match), from 16 connections of a
// separate load-generating process, beside the bare pgx + net/http process
// running the same SQL (display_name ~ the pattern in the WHERE clause, one
// page newest first) and rendering a comparable detail body, in the same
// run. The filter runs in Postgres in both: the ratio is what nova's query
// handling, policy and view cost on top.
func BenchmarkServersDetailNameFilter(b *testing.B) {
	d := newDeployment(b)
	pool := pgtest.OpenPool(b, d.dbURL)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO instances (uuid, display_name, user_id, project_id, host, node, vm_state, power_state, flavor_id, vcpus, memory_mb, root_gb, image_ref, updated_at)
		SELECT gen_random_uuid(), 'vm-' || g, 'u1', 'p1', 'host-' || (g % 100 + 1), 'host-' || (g % 100 + 1), 'active', 1, '1', 1, 512, 1, '70a599e0-31e7-49b7-b260-868f441e862b', now()
		FROM generate_series(1, 10000) g`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE instances`); err != nil {
		b.Fatal(err)
	}
	apiAddr := freeAddr(b)
	host, port := splitHostPort(b, apiAddr)
	api := start(b, "nova-api", "nova-api", writeConf(b, "api.conf", map[string]map[string]string{
		"DEFAULT":  {"host": "api-host", "transport_url": "memory://bench", "osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1"},
		"api":      {"auth_strategy": "noauth2"},
		"database": {"connection": d.dbURL, "max_pool_size": "16"},
	}))
	waitHealthy(b, api, "http://"+apiAddr, 30*time.Second)
	bareAddr := freeAddr(b)
	bare := startArgs(b, "bareapi", "bareapi", "-listen", bareAddr, "-db", d.dbURL)
	waitHealthy(b, bare, "http://"+bareAddr, 30*time.Second)

	// Both must answer the same servers.
	count := func(url, token string) int {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Servers []map[string]any `json:"servers"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %v", url, resp.StatusCode, err)
		}
		return len(body.Servers)
	}
	const q = "?name=%5Evm-12"
	if g, r := count("http://"+apiAddr+"/v2.1/servers/detail"+q, "u1:p1"), count("http://"+bareAddr+"/servers/detail"+q, ""); g != 111 || r != 111 {
		b.Fatalf("gonova found %d servers, bare %d; want 111", g, r)
	}
	var g, r loadResult
	for i := 0; i < b.N; i++ {
		load(b, "http://"+apiAddr+"/v2.1/servers/detail"+q, "u1:p1", "2.53", 300*time.Millisecond)
		load(b, "http://"+bareAddr+"/servers/detail"+q, "", "", 300*time.Millisecond)
		g = load(b, "http://"+apiAddr+"/v2.1/servers/detail"+q, "u1:p1", "2.53", 3*time.Second)
		r = load(b, "http://"+bareAddr+"/servers/detail"+q, "", "", 3*time.Second)
	}
	b.ReportMetric(g.RPS, "req/s")
	b.ReportMetric(r.RPS, "bare_req/s")
	b.ReportMetric(g.RPS/r.RPS, "ratio_vs_bare")
	b.ReportMetric(g.P99, "p99_ms")
	b.ReportMetric(r.P99, "bare_p99_ms")
	b.ReportMetric(0, "ns/op")
}
