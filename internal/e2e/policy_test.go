package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nova-all reads policy.yaml beside its nova.conf ([oslo_policy]
// policy_file's default); SIGHUP reads a new version and keeps the rules in
// force when the new one does not parse; a file that does not parse at start
// is a configuration error (exit 2), also for the parent of API workers.
func TestPolicyFileAndSIGHUP(t *testing.T) {
	addr := freeAddr(t)
	host, port := splitHostPort(t, addr)
	conf := writeConf(t, "nova-all.conf", map[string]map[string]string{
		"DEFAULT": {"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"periodic_fuzzy_delay": "0", "report_interval": "1", "graceful_shutdown_timeout": "10"},
		"api":    {"auth_strategy": "noauth2"},
		"gonova": {"metrics_listen": ""},
	})
	policyFile := filepath.Join(filepath.Dir(conf), "policy.yaml")
	writePolicy := func(rules string) {
		t.Helper()
		if err := os.WriteFile(policyFile, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePolicy(`"os_compute_api:servers:create": "role:admin"` + "\n")
	p := start(t, "nova-all", "nova-all", conf)
	waitHealthy(t, p, "http://"+addr, 30*time.Second)
	demo := apiClient{base: "http://" + addr, token: "demo:demo"}
	boot := map[string]any{"server": map[string]any{"name": "vm", "flavorRef": "1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b"}}
	code, err := demo.do(http.MethodPost, "/v2.1/servers", boot, nil)
	if code != http.StatusForbidden || !strings.Contains(err.Error(), "Policy doesn't allow os_compute_api:servers:create to be performed.") {
		t.Fatalf("create with servers:create = role:admin: %d %v, want nova's 403", code, err)
	}

	writePolicy(`"os_compute_api:servers:create": "role:admin or"` + "\n")
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	waitOutput(t, p, "policy file not reloaded; the rules in force stay", 1, 20*time.Second)
	if code, _ := demo.do(http.MethodPost, "/v2.1/servers", boot, nil); code != http.StatusForbidden {
		t.Fatalf("create after a SIGHUP with a broken policy file: %d, want the rules in force (403)", code)
	}

	writePolicy(`"os_compute_api:servers:create": "@"` + "\n")
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 20*time.Second, "servers:create open after SIGHUP", func() error {
		_, err := demo.do(http.MethodPost, "/v2.1/servers", boot, nil)
		return err
	})
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("nova-all exited %d after SIGTERM", code)
	}

	// A file that does not parse stops the start: exit 2, the file named.
	writePolicy("{not: [valid\n")
	for _, c := range []struct{ bin, workers string }{{"nova-all", "1"}, {"nova-api", "2"}} {
		body, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, []byte(strings.Replace(string(body), "osapi_compute_workers = 1", "osapi_compute_workers = "+c.workers, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		bad := start(t, c.bin, c.bin, conf)
		select {
		case <-bad.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s with a broken policy file still runs", c.bin)
		}
		if code := bad.cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(bad.out.String(), "policy.yaml") {
			t.Errorf("%s with a broken policy file: exit %d, want 2 naming the file\n%s", c.bin, code, tail(bad.out.String(), 20))
		}
		if err := os.WriteFile(conf, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
