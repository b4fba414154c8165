package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/pgtest"
)

// noValidHost is nova's NoValidHost fault of a boot no host can take.
const noValidHost = "No valid host was found. There are not enough hosts available."

// TestSerialConcurrentCreatesNeverOvercommit: two nova-api processes with two
// workers each and two nova-compute processes of 4 vcpus (cpu_allocation_ratio
// 1.0: four m1.tiny each) on Postgres and RabbitMQ. Twenty rounds of 100
// concurrent creates spread over both APIs' ports: no compute node is ever
// over capacity (its compute_nodes usage, and the instances building or
// active on it, sampled all along), exactly 8 servers become ACTIVE, every
// other create ends in ERROR with nova's NoValidHost fault, and after the
// round's deletes every claim is released. It starts a cluster of five
// processes and takes about a minute: make test-serial runs it alone.
func TestSerialConcurrentCreatesNeverOvercommit(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("starts a cluster of five processes: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	const (
		slots   = 4 // vcpus per host; m1.tiny has 1
		creates = 100
		rounds  = 20
	)
	d := newDeployment(t)
	hosts := []string{"claims-a", "claims-b"}
	var computes []computeProc
	for _, h := range hosts {
		addr := freeAddr(t)
		conf := writeConf(t, h+".conf", map[string]map[string]string{
			"DEFAULT": {
				"host": h, "transport_url": d.rabbit, "control_exchange": d.exchange,
				"report_interval": "1", "periodic_fuzzy_delay": "0", "graceful_shutdown_timeout": "20",
				"update_resources_interval": "1", "sync_power_state_interval": "1",
				"cpu_allocation_ratio": "1.0",
			},
			"database": {"connection": d.dbURL},
			"gonova": {"metrics_listen": addr, "fake_driver_vcpus": fmt.Sprint(slots),
				"fake_driver_memory_mb": "8192", "fake_driver_local_gb": "100"},
		})
		computes = append(computes, computeProc{proc: start(t, "nova-compute", h, conf), host: h, health: "http://" + addr})
	}
	var apis []string
	var apiProcs []*proc
	for i := range 2 {
		addr := freeAddr(t)
		host, port := splitHostPort(t, addr)
		p := start(t, "nova-api", fmt.Sprintf("nova-api-%d", i), writeConf(t, fmt.Sprintf("api%d.conf", i), map[string]map[string]string{
			"DEFAULT": {"host": fmt.Sprintf("api-%d", i), "transport_url": d.rabbit, "control_exchange": d.exchange,
				"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "2",
				"report_interval": "1", "rpc_response_timeout": "20", "graceful_shutdown_timeout": "20"},
			"api":      {"auth_strategy": "noauth2"},
			"database": {"connection": d.dbURL, "max_pool_size": "8"},
			// 100 creates of one project at once: no quota in the way.
			"quota": {"instances": "-1", "cores": "-1", "ram": "-1"},
		}))
		apis = append(apis, "http://"+addr)
		apiProcs = append(apiProcs, p)
	}
	for _, c := range computes {
		waitHealthy(t, c.proc, c.health, 30*time.Second)
	}
	for i, base := range apis {
		waitHealthy(t, apiProcs[i], base, 30*time.Second)
	}
	pool := pgtest.OpenPool(t, d.dbURL)
	ctx := context.Background()
	eventually(t, 20*time.Second, "both compute nodes with their capacity", func() error {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM compute_nodes WHERE deleted = 0 AND vcpus = $1`, slots).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("%d nodes of %d vcpus", n, slots)
		}
		return nil
	})

	// The monitor samples the database all along: a node's recorded usage,
	// and the instances building or active on each host.
	var (
		violations []string
		vmu        sync.Mutex
		samples    atomic.Int64
	)
	violate := func(s string) {
		vmu.Lock()
		defer vmu.Unlock()
		if len(violations) < 20 {
			violations = append(violations, s)
		}
	}
	mctx, stopMonitor := context.WithCancel(ctx)
	var mwg sync.WaitGroup
	mwg.Go(func() {
		for mctx.Err() == nil {
			rows, err := pool.Query(mctx, `SELECT host, vcpus_used FROM compute_nodes WHERE deleted = 0`)
			if err == nil {
				for rows.Next() {
					var h string
					var used int
					if rows.Scan(&h, &used) == nil && used > slots {
						violate(fmt.Sprintf("compute_nodes of %s: vcpus_used %d > %d", h, used, slots))
					}
				}
				rows.Close()
			}
			rows, err = pool.Query(mctx, `SELECT host, count(*) FROM instances WHERE deleted = 0 AND host IS NOT NULL
				AND vm_state IN ('building', 'active') GROUP BY host`)
			if err == nil {
				for rows.Next() {
					var h string
					var n int
					if rows.Scan(&h, &n) == nil && n > slots {
						violate(fmt.Sprintf("%d instances building or active on %s > %d", n, h, slots))
					}
				}
				rows.Close()
			}
			samples.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() { stopMonitor(); mwg.Wait() }()

	// A fresh connection per request, so both workers of each API get creates.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	do := func(method, url string, body any) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("X-Auth-Token", "admin:admin")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	type server struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Fault  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"fault"`
	}
	list := func() ([]server, error) {
		code, b, err := do(http.MethodGet, apis[0]+"/v2.1/servers/detail", nil)
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("list: %d %v %s", code, err, b)
		}
		var out struct {
			Servers []server `json:"servers"`
		}
		return out.Servers, json.Unmarshal(b, &out)
	}

	began, done := time.Now(), 0
	for round := range rounds {
		ids := make([]string, creates)
		var wg sync.WaitGroup
		for i := range creates {
			wg.Go(func() {
				body := map[string]any{"server": map[string]any{"name": fmt.Sprintf("r%d-%d", round, i), "flavorRef": "1",
					"imageRef": "70a599e0-31e7-49b7-b260-868f441e862b"}}
				code, b, err := do(http.MethodPost, apis[i%2]+"/v2.1/servers", body)
				var out struct {
					Server server `json:"server"`
				}
				if err != nil || code != http.StatusAccepted || json.Unmarshal(b, &out) != nil || out.Server.ID == "" {
					t.Errorf("round %d create %d via API %d: %d %v %s", round, i, i%2, code, err, b)
					return
				}
				ids[i] = out.Server.ID
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		var servers []server
		eventually(t, 30*time.Second, fmt.Sprintf("round %d: every server ACTIVE or ERROR", round), func() error {
			var err error
			if servers, err = list(); err != nil {
				return err
			}
			if len(servers) != creates {
				return fmt.Errorf("%d servers listed", len(servers))
			}
			for _, s := range servers {
				if s.Status != "ACTIVE" && s.Status != "ERROR" {
					return fmt.Errorf("server %s is %s", s.ID, s.Status)
				}
			}
			return nil
		})
		active := 0
		for _, s := range servers {
			switch {
			case s.Status == "ACTIVE":
				active++
			case s.Fault == nil || s.Fault.Message != noValidHost:
				t.Errorf("round %d: server %s in ERROR with fault %+v, want %q", round, s.ID, s.Fault, noValidHost)
			}
		}
		perHost := map[string]int{}
		rows, err := pool.Query(ctx, `SELECT host, count(*) FROM instances WHERE deleted = 0 AND vm_state = 'active' GROUP BY host`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h string
			var n int
			if err := rows.Scan(&h, &n); err != nil {
				t.Fatal(err)
			}
			perHost[h] = n
		}
		rows.Close()
		for h, n := range perHost {
			if n > slots {
				t.Errorf("round %d: %d ACTIVE servers on %s, capacity %d", round, n, h, slots)
			}
		}
		if active != slots*len(hosts) {
			t.Errorf("round %d: %d servers ACTIVE (by host %v), want %d: every slot taken", round, active, perHost, slots*len(hosts))
		}
		if t.Failed() {
			break
		}
		done++

		// Delete all, and wait for every claim to be released.
		next := make(chan string)
		for range 16 {
			wg.Go(func() {
				for id := range next {
					if code, b, err := do(http.MethodDelete, apis[len(id)%2]+"/v2.1/servers/"+id, nil); err != nil || code != http.StatusNoContent {
						t.Errorf("round %d: delete %s: %d %v %s", round, id, code, err, b)
					}
				}
			})
		}
		for _, id := range ids {
			next <- id
		}
		close(next)
		wg.Wait()
		eventually(t, 30*time.Second, fmt.Sprintf("round %d: servers gone and claims released", round), func() error {
			var live, used int
			if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM instances WHERE deleted = 0),
				(SELECT coalesce(sum(vcpus_used), 0) FROM compute_nodes WHERE deleted = 0)`).Scan(&live, &used); err != nil {
				return err
			}
			if live != 0 || used != 0 {
				return fmt.Errorf("%d instances left, %d vcpus used", live, used)
			}
			return nil
		})
	}
	stopMonitor()
	mwg.Wait()
	t.Logf("%d rounds of %d creates in %v; %d samples of the database", done, creates, time.Since(began).Round(time.Millisecond), samples.Load())
	if len(violations) > 0 {
		t.Errorf("over capacity:\n%s", strings.Join(violations, "\n"))
	}
	for _, p := range append(apiProcs, computes[0].proc, computes[1].proc) {
		if code := p.stop(t, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", p.name, code)
		}
	}
}
