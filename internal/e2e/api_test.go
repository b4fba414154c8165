package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

type serverDoc struct {
	Server struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Host   string `json:"OS-EXT-SRV-ATTR:host"`
	} `json:"server"`
}

func createServer(t *testing.T, c apiClient, name string) string {
	t.Helper()
	return createServerFrom(t, c, name, "70a599e0-31e7-49b7-b260-868f441e862b")
}

// createServerFrom is createServer from image imageRef (one in Glance, for
// a nova-api that checks images).
func createServerFrom(t *testing.T, c apiClient, name, imageRef string) string {
	t.Helper()
	var out serverDoc
	server := map[string]any{"name": name, "flavorRef": "1", "imageRef": imageRef}
	if c.version != "" {
		server["networks"] = "none" // required from microversion 2.37, as in nova
	}
	code, err := c.do(http.MethodPost, "/v2.1/servers", map[string]any{"server": server}, &out)
	if err != nil || code != http.StatusAccepted || out.Server.ID == "" {
		t.Fatalf("create %s: %d %v %+v", name, code, err, out)
	}
	return out.Server.ID
}

// waitActive polls GET /servers/{id} until ACTIVE and returns its host.
func waitActive(t *testing.T, c apiClient, id string) string {
	t.Helper()
	var host string
	eventually(t, 20*time.Second, "server "+id+" ACTIVE", func() error {
		var s serverDoc
		if _, err := c.do(http.MethodGet, "/v2.1/servers/"+id, nil, &s); err != nil {
			return err
		}
		if s.Server.Status == "ERROR" {
			t.Fatalf("server %s went to ERROR", id)
		}
		if s.Server.Status != "ACTIVE" {
			return fmt.Errorf("status %s", s.Server.Status)
		}
		host = s.Server.Host
		return nil
	})
	return host
}

// nova-api and two nova-compute processes on Postgres and RabbitMQ: servers
// created over HTTP become ACTIVE on both hosts; reboot, console output and
// delete work; a disabled compute gets no new servers.
func TestAPIAndTwoComputesEndToEnd(t *testing.T) {
	d := newDeployment(t)
	c1, c2 := d.startCompute(t, "compute-a"), d.startCompute(t, "compute-b")
	apiAddr := freeAddr(t)
	host, port := splitHostPort(t, apiAddr)
	api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
		"DEFAULT": {"host": "api-host", "transport_url": d.rabbit, "control_exchange": d.exchange,
			"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"report_interval": "1", "rpc_response_timeout": "10", "graceful_shutdown_timeout": "20"},
		"api":      {"auth_strategy": "noauth2"},
		"database": {"connection": d.dbURL},
	}))
	for _, c := range []computeProc{c1, c2} {
		waitHealthy(t, c.proc, c.health, 30*time.Second)
	}
	waitHealthy(t, api, "http://"+apiAddr, 30*time.Second)
	admin := apiClient{base: "http://" + apiAddr, token: "admin:admin", version: "2.53"}

	// Both computes are listed up; the API's own row is hidden.
	var svcs struct {
		Services []struct {
			ID, Binary, Host, State, Status string
		} `json:"services"`
	}
	eventually(t, 15*time.Second, "two computes up in os-services", func() error {
		if _, err := admin.do(http.MethodGet, "/v2.1/os-services", nil, &svcs); err != nil {
			return err
		}
		up := 0
		for _, s := range svcs.Services {
			if s.Binary == "nova-osapi_compute" {
				return fmt.Errorf("API row listed: %+v", s)
			}
			if s.Binary == "nova-compute" && s.State == "up" && s.Status == "enabled" {
				up++
			}
		}
		if up != 2 {
			return fmt.Errorf("services %+v", svcs.Services)
		}
		return nil
	})

	hosts := map[string]int{}
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, createServer(t, admin, "vm-"+strconv.Itoa(i)))
	}
	for _, id := range ids {
		hosts[waitActive(t, admin, id)]++
	}
	if hosts["compute-a"] == 0 || hosts["compute-b"] == 0 {
		t.Fatalf("servers landed on %v, want both computes", hosts)
	}

	// Reboot and console output.
	if code, err := admin.do(http.MethodPost, "/v2.1/servers/"+ids[0]+"/action", map[string]any{"reboot": map[string]string{"type": "SOFT"}}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("reboot: %d %v", code, err)
	}
	waitActive(t, admin, ids[0])
	var console struct {
		Output string `json:"output"`
	}
	if code, err := admin.do(http.MethodPost, "/v2.1/servers/"+ids[0]+"/action", map[string]any{"os-getConsoleOutput": map[string]any{"length": 50}}, &console); err != nil || code != http.StatusOK || console.Output == "" {
		t.Fatalf("console output: %d %v %q", code, err, console.Output)
	}

	// Disable compute-b: new servers land on compute-a only.
	var b string
	for _, s := range svcs.Services {
		if s.Host == "compute-b" {
			b = s.ID
		}
	}
	if code, err := admin.do(http.MethodPut, "/v2.1/os-services/"+b, map[string]any{"status": "disabled", "disabled_reason": "maintenance"}, nil); err != nil || code != http.StatusOK {
		t.Fatalf("disable compute-b: %d %v", code, err)
	}
	for i := 0; i < 3; i++ {
		id := createServer(t, admin, "after-disable-"+strconv.Itoa(i))
		ids = append(ids, id)
		if h := waitActive(t, admin, id); h != "compute-a" {
			t.Fatalf("server created after disabling compute-b landed on %s", h)
		}
	}

	// Delete everything.
	for _, id := range ids {
		if code, err := admin.do(http.MethodDelete, "/v2.1/servers/"+id, nil, nil); err != nil || code != http.StatusNoContent {
			t.Fatalf("delete %s: %d %v", id, code, err)
		}
	}
	for _, id := range ids {
		eventually(t, 15*time.Second, "server "+id+" gone", func() error {
			code, _ := admin.do(http.MethodGet, "/v2.1/servers/"+id, nil, nil)
			if code != http.StatusNotFound {
				return fmt.Errorf("GET answers %d", code)
			}
			return nil
		})
	}
	for _, p := range []*proc{api, c1.proc, c2.proc} {
		if code := p.stop(t, 30*time.Second); code != 0 {
			t.Fatalf("%s exited %d after SIGTERM", p.name, code)
		}
	}
}

// nova-all on the embedded default (memory:// and the in-memory store):
// start, create a server over HTTP, see it ACTIVE, stop with SIGTERM, exit 0.
func TestNovaAllEmbeddedDefault(t *testing.T) {
	addr := freeAddr(t)
	host, port := splitHostPort(t, addr)
	conf := writeConf(t, "nova-all.conf", map[string]map[string]string{
		"DEFAULT": {"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"periodic_fuzzy_delay": "0", "report_interval": "1", "graceful_shutdown_timeout": "10"},
		"api":    {"auth_strategy": "noauth2"},
		"gonova": {"metrics_listen": ""},
	})
	p := start(t, "nova-all", "nova-all", conf)
	waitHealthy(t, p, "http://"+addr, 30*time.Second)
	c := apiClient{base: "http://" + addr, token: "demo:demo"}
	id := createServer(t, c, "first")
	waitActive(t, c, id)
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("nova-all exited %d after SIGTERM", code)
	}
}
