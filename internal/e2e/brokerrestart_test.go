package e2e

import (
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// What the API is configured with in TestSerialCreatesAcrossABrokerRestart,
// and the bounds the test holds it to.
const (
	restartUnavailable = 3 * time.Second  // [gonova] rpc_unavailable_timeout
	restartUnroutable  = 8 * time.Second  // [gonova] rpc_unroutable_timeout
	restartBuildReq    = 15 * time.Second // [gonova] build_request_timeout
	// No request may take longer: the broker wait, then the unroutable
	// retries, plus the database and scheduling work.
	restartRequestBound = restartUnavailable + restartUnroutable + 4*time.Second
	// Every server is ACTIVE or ERROR this long after the last create: the
	// sweep's timeout, its spacing (half of it) and slack.
	restartSettleBound = restartBuildReq + restartBuildReq/2 + 15*time.Second
)

type restartCreate struct {
	id      string
	code    int
	took    time.Duration
	phase   string // before, down, after
	started time.Time
}

// nova-api and nova-compute on a RabbitMQ node of the test's own, with
// amqp_durable_queues = false (the default), and a stream of creates
// before, during and after that node is stopped for 15 s: every create is
// answered within the configured bound (never for the whole outage), and
// every server it accepted ends ACTIVE, or ERROR with a fault, within a
// bound after the broker returned: none stays in BUILD; a reboot and a
// console output while it is down answer 503. Casts the broker
// could not route (the compute had not re-declared its queue yet) are
// detected and retried, casts lost with the non-durable queue are failed by
// the API's build request sweep.
//
// It stops a broker, so it is a TestSerial test (GONOVA_SERIAL_FAULTS=1,
// make test-serial); the broker is its own (pkg/testenv/rabbitnode), never
// the shared one.
func TestSerialCreatesAcrossABrokerRestart(t *testing.T) {
	if os.Getenv("GONOVA_SERIAL_FAULTS") != "1" {
		t.Skip("stops a RabbitMQ node: set GONOVA_SERIAL_FAULTS=1 (make test-serial)")
	}
	testenv.RequirePostgres(t)
	node := rabbitnode.Start(t, rabbitnode.Options{})
	dbURL := pgtest.NewDatabase(t)
	exchange := testenv.UniqueName("e2e_restart_")
	secs := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

	metricsAddr := freeAddr(t)
	compute := start(t, "nova-compute", "compute-r", writeConf(t, "compute-r.conf", map[string]map[string]string{
		"DEFAULT": {
			"host": "compute-r", "transport_url": node.TransportURL(), "control_exchange": exchange,
			"report_interval": "1", "periodic_fuzzy_delay": "0", "periodic_interval_max": "1",
			"update_resources_interval": "1", "sync_power_state_interval": "-1", "graceful_shutdown_timeout": "20",
			"instance_build_timeout": "60",
		},
		"oslo_messaging_rabbit": {"amqp_durable_queues": "false"},
		"database":              {"connection": dbURL},
		"gonova":                {"metrics_listen": metricsAddr},
	}))
	apiAddr := freeAddr(t)
	host, port := splitHostPort(t, apiAddr)
	api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
		"DEFAULT": {"host": "api-host", "transport_url": node.TransportURL(), "control_exchange": exchange,
			"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"periodic_fuzzy_delay": "0", "periodic_interval_max": "1", "graceful_shutdown_timeout": "20"},
		"api":                   {"auth_strategy": "noauth2"},
		"oslo_messaging_rabbit": {"amqp_durable_queues": "false"},
		"database":              {"connection": dbURL},
		// About 150 creates in one project: the quota is not what this tests.
		"quota": {"instances": "-1", "cores": "-1", "ram": "-1"},
		"gonova": {"rpc_unavailable_timeout": secs(restartUnavailable), "rpc_unroutable_timeout": secs(restartUnroutable),
			"build_request_timeout": secs(restartBuildReq)},
	}))
	waitHealthy(t, compute, "http://"+metricsAddr, 30*time.Second)
	waitHealthy(t, api, "http://"+apiAddr, 30*time.Second)
	admin := apiClient{base: "http://" + apiAddr, token: "admin:admin", version: "2.53"}
	// A first server proves the deployment works before the outage.
	warm := createServer(t, admin, "warm-up")
	waitActive(t, admin, warm)

	var (
		mu      sync.Mutex
		creates []restartCreate
		phase   = "before"
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			ph := phase
			mu.Unlock()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var out serverDoc
				began := time.Now()
				code, err := admin.do(http.MethodPost, "/v2.1/servers", map[string]any{"server": map[string]any{
					"name": "stream-" + strconv.Itoa(i), "flavorRef": "1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "networks": "none"}}, &out)
				c := restartCreate{id: out.Server.ID, code: code, took: time.Since(began), phase: ph, started: began}
				if err != nil {
					c.code = -1
					t.Logf("create %d (%s): %v after %s", i, ph, err, c.took)
				}
				mu.Lock()
				creates = append(creates, c)
				mu.Unlock()
			}(i)
		}
	}()
	setPhase := func(p string) { mu.Lock(); phase = p; mu.Unlock() }

	time.Sleep(4 * time.Second)
	setPhase("down")
	node.Stop(t)
	t.Log("broker stopped")
	down := time.Now()
	// Actions that need RPC answer 503 (nova's body) within the bound, and
	// leave the server as it was.
	for _, action := range []map[string]any{{"reboot": map[string]string{"type": "HARD"}}, {"os-getConsoleOutput": map[string]any{}}} {
		began := time.Now()
		var body map[string]map[string]any
		code, err := admin.do(http.MethodPost, "/v2.1/servers/"+warm+"/action", action, &body) // err says "503 ..."
		took := time.Since(began)
		if code != http.StatusServiceUnavailable || body["serviceUnavailable"]["code"] != float64(503) || took > restartRequestBound {
			t.Errorf("%v while the broker is down: %d %v %v after %s, want a 503 within %s", action, code, err, body, took, restartRequestBound)
		}
	}
	time.Sleep(15*time.Second - time.Since(down))
	node.Start(t)
	back := time.Now()
	setPhase("after")
	t.Log("broker started again")
	time.Sleep(15 * time.Second)
	close(stop)
	<-streamDone
	wg.Wait()
	lastCreate := time.Now()

	// Every request was answered, in time.
	byPhase := map[string]int{}
	var slowest time.Duration
	for _, c := range creates {
		byPhase[c.phase]++
		slowest = max(slowest, c.took)
		if c.took > restartRequestBound {
			t.Errorf("a create (%s the outage) took %s, above the bound %s", c.phase, c.took.Round(time.Millisecond), restartRequestBound)
		}
		if c.code != http.StatusAccepted && c.code != http.StatusServiceUnavailable {
			t.Errorf("a create (%s the outage) answered %d, want 202 or 503", c.phase, c.code)
		}
	}
	t.Logf("%d creates (%v), slowest answered in %s; broker back at +%s", len(creates), byPhase, slowest.Round(time.Millisecond), time.Since(back).Round(time.Second))
	if byPhase["down"] == 0 || byPhase["after"] == 0 {
		t.Fatalf("the stream missed a phase: %v", byPhase)
	}

	// Every accepted server ends ACTIVE or ERROR with a fault; none stays
	// in BUILD.
	type final struct{ status, fault string }
	finals := map[string]final{}
	deadline := lastCreate.Add(restartSettleBound)
	for {
		var list struct {
			Servers []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Fault  *struct {
					Message string `json:"message"`
				} `json:"fault"`
			} `json:"servers"`
		}
		code, err := admin.do(http.MethodGet, "/v2.1/servers/detail?all_tenants=1", nil, &list)
		pending := 0
		if err == nil && code == http.StatusOK {
			for _, s := range list.Servers {
				f := final{status: s.Status}
				if s.Fault != nil {
					f.fault = s.Fault.Message
				}
				finals[s.ID] = f
				if s.Status != "ACTIVE" && !(s.Status == "ERROR" && f.fault != "") {
					pending++
				}
			}
		}
		if err == nil && code == http.StatusOK && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d servers still neither ACTIVE nor ERROR with a fault %s after the last create (listing: %d %v)",
				pending, restartSettleBound, code, err)
			break
		}
		time.Sleep(time.Second)
	}
	counts := map[string]int{}
	faults := map[string]int{}
	for _, c := range creates {
		if c.code != http.StatusAccepted {
			continue
		}
		f, ok := finals[c.id]
		if !ok {
			t.Errorf("server %s (created %s the outage) is not listed", c.id, c.phase)
			continue
		}
		counts[c.phase+"/"+f.status]++
		if f.status == "ERROR" {
			faults[f.fault]++
		}
		if f.status != "ACTIVE" && f.status != "ERROR" {
			t.Errorf("server %s (created %s the outage) is %s", c.id, c.phase, f.status)
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-14s %d", k, counts[k])
	}
	for f, n := range faults {
		t.Logf("fault x%d: %s", n, f)
	}
	if counts["after/ACTIVE"] == 0 {
		t.Errorf("no server created after the broker returned became ACTIVE: %v", counts)
	}
	for _, p := range []*proc{api, compute} {
		if code := p.stop(t, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", p.name, code)
		}
	}
}
