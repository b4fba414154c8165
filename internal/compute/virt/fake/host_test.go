package fake

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// cpu_info is an object gophercloud and novaclient can decode, with the
// keys nova's drivers report.
func TestCPUInfoIsNovaShapedJSON(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte(CPUInfo(8)), &m); err != nil {
		t.Fatalf("cpu_info %q: %v", CPUInfo(8), err)
	}
	topo, _ := m["topology"].(map[string]any)
	if m["arch"] != "x86_64" || m["vendor"] != "Intel" || m["model"] != "Nehalem" || topo["sockets"] != 8.0 || topo["cores"] != 1.0 {
		t.Fatalf("cpu_info = %v", m)
	}
	if !strings.HasPrefix(CPUInfo(8), `{"arch":`) {
		t.Fatalf("key order: %s", CPUInfo(8))
	}
}

func TestFormatUptime(t *testing.T) {
	now := time.Date(2026, 1, 2, 8, 32, 11, 0, time.UTC)
	for _, c := range []struct{ up, want string }{
		{"8102551.13 1234.5", " 08:32:11 up 93 days, 18:42,  0 users,  load average: 0.20, 0.12, 0.14"},
		{"90000.0 1.0", " 08:32:11 up 1 day,  1:00,  0 users,  load average: 0.20, 0.12, 0.14"},
		{"600.5 1.0", " 08:32:11 up 10 min,  0 users,  load average: 0.20, 0.12, 0.14"},
	} {
		got, err := formatUptime(now, c.up, "0.20 0.12 0.14 1/123 4567\n")
		if err != nil || got != c.want {
			t.Errorf("uptime(%q) = %q, %v; want %q", c.up, got, err, c.want)
		}
	}
	if _, err := formatUptime(now, "x", "0 0 0"); err == nil {
		t.Error("a malformed /proc/uptime was accepted")
	}
}
