package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

type reservationList struct {
	Servers []struct {
		ID, Name, Status string
		Host             string `json:"OS-EXT-SRV-ATTR:host"`
		Reservation      string `json:"OS-EXT-SRV-ATTR:reservation_id"`
		LaunchIndex      int    `json:"OS-EXT-SRV-ATTR:launch_index"`
	} `json:"servers"`
}

// waitReservationActive polls the server list filtered by reservation id
// until want servers of it are ACTIVE, and returns them.
func waitReservationActive(t *testing.T, c apiClient, resv string, want int) reservationList {
	t.Helper()
	var l reservationList
	eventually(t, 40*time.Second, fmt.Sprintf("%d servers of %s ACTIVE", want, resv), func() error {
		l = reservationList{}
		if _, err := c.do(http.MethodGet, "/v2.1/servers/detail?reservation_id="+resv, nil, &l); err != nil {
			return err
		}
		active := 0
		for _, s := range l.Servers {
			if s.Status == "ERROR" {
				t.Fatalf("server %s of %s went to ERROR", s.Name, resv)
			}
			if s.Status == "ACTIVE" {
				active++
			}
		}
		if len(l.Servers) != want || active != want {
			return fmt.Errorf("%d listed, %d active", len(l.Servers), active)
		}
		return nil
	})
	return l
}

// novaclientCreateMany runs python-novaclient's servers.create with
// min_count and max_count against a noauth2 nova-api.
func novaclientCreateMany(t *testing.T, endpoint, token, name string, minCount, maxCount int, reservation bool) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	resv := "0"
	if reservation {
		resv = "1"
	}
	py := exec.CommandContext(ctx, testenv.PythonPath, "testdata/novaclient/create_servers.py", endpoint, token, name,
		"70a599e0-31e7-49b7-b260-868f441e862b", "1", fmt.Sprint(minCount), fmt.Sprint(maxCount), resv)
	var stderr bytes.Buffer
	py.Stderr = &stderr
	out, err := py.Output()
	if err != nil {
		t.Fatalf("novaclient create: %v\n%s", err, tail(stderr.String(), 60))
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("novaclient printed %q: %v", out, err)
	}
	return m
}

// nova-api and two nova-compute processes on Postgres and RabbitMQ: one
// POST /servers with max_count 4 makes four servers of one reservation
// that all become ACTIVE, spread over both computes; python-novaclient's
// servers.create with min_count/max_count does the same.
func TestMultipleCreateEndToEnd(t *testing.T) {
	testenv.RequirePython(t, "novaclient", "python3-novaclient")
	d := newDeployment(t)
	c1, c2 := d.startCompute(t, "multi-a"), d.startCompute(t, "multi-b")
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
	eventually(t, 15*time.Second, "two computes up", func() error {
		var svcs struct {
			Services []struct{ Binary, State string } `json:"services"`
		}
		if _, err := admin.do(http.MethodGet, "/v2.1/os-services", nil, &svcs); err != nil {
			return err
		}
		up := 0
		for _, s := range svcs.Services {
			if s.Binary == "nova-compute" && s.State == "up" {
				up++
			}
		}
		if up != 2 {
			return fmt.Errorf("%d up", up)
		}
		return nil
	})

	var resv struct {
		ReservationID string `json:"reservation_id"`
	}
	code, err := admin.do(http.MethodPost, "/v2.1/servers", map[string]any{"server": map[string]any{
		"name": "multi", "flavorRef": "1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "networks": "none",
		"min_count": 2, "max_count": 4, "return_reservation_id": true}}, &resv)
	if err != nil || code != http.StatusAccepted || resv.ReservationID == "" {
		t.Fatalf("create: %d %v %+v", code, err, resv)
	}
	l := waitReservationActive(t, admin, resv.ReservationID, 4)
	hosts, names := map[string]int{}, map[string]int{}
	for _, s := range l.Servers {
		hosts[s.Host]++
		names[s.Name] = s.LaunchIndex
		if s.Reservation != resv.ReservationID {
			t.Errorf("server %s: reservation %q", s.Name, s.Reservation)
		}
	}
	if hosts["multi-a"] == 0 || hosts["multi-b"] == 0 {
		t.Errorf("servers on %v, want both computes", hosts)
	}
	for i := range 4 {
		if idx, ok := names[fmt.Sprintf("multi-%d", i+1)]; !ok || idx != i {
			t.Errorf("names and launch indexes %v", names)
		}
	}

	// python-novaclient: min_count/max_count, then with reservation_id.
	endpoint := "http://" + apiAddr + "/v2.1"
	first := novaclientCreateMany(t, endpoint, "admin:admin", "nc", 2, 2, false)
	var shown serverDoc
	if _, err := admin.do(http.MethodGet, "/v2.1/servers/"+first["id"], nil, &shown); err != nil || shown.Server.ID != first["id"] {
		t.Fatalf("novaclient's first server %v: %v", first, err)
	}
	var nc reservationList
	if _, err := admin.do(http.MethodGet, "/v2.1/servers/detail?name=^nc-", nil, &nc); err != nil || len(nc.Servers) != 2 {
		t.Fatalf("novaclient's servers: %+v %v", nc, err)
	}
	waitReservationActive(t, admin, nc.Servers[0].Reservation, 2)
	got := novaclientCreateMany(t, endpoint, "admin:admin", "ncr", 1, 3, true)
	waitReservationActive(t, admin, got["reservation_id"], 3)

	// Every server is deleted.
	var all reservationList
	if _, err := admin.do(http.MethodGet, "/v2.1/servers/detail", nil, &all); err != nil || len(all.Servers) != 9 {
		t.Fatalf("list: %d servers, %v", len(all.Servers), err)
	}
	for _, s := range all.Servers {
		if code, err := admin.do(http.MethodDelete, "/v2.1/servers/"+s.ID, nil, nil); err != nil || code != http.StatusNoContent {
			t.Fatalf("delete %s: %d %v", s.Name, code, err)
		}
	}
	eventually(t, 30*time.Second, "every server deleted", func() error {
		var left reservationList
		if _, err := admin.do(http.MethodGet, "/v2.1/servers", nil, &left); err != nil {
			return err
		}
		if len(left.Servers) != 0 {
			return fmt.Errorf("%d left", len(left.Servers))
		}
		return nil
	})
}
