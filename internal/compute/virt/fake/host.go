package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTopology and cpuInfo are the cpu_info the fake reports, in the shape
// and key order of nova's drivers (the libvirt driver's and nova's own
// fake's): arch, model, vendor, features, topology. gophercloud and
// novaclient decode it as an object at 2.28+.
type cpuTopology struct {
	Cores   int `json:"cores"`
	Threads int `json:"threads"`
	Sockets int `json:"sockets"`
}

type cpuInfo struct {
	Arch     string      `json:"arch"`
	Model    string      `json:"model"`
	Vendor   string      `json:"vendor"`
	Features []string    `json:"features"`
	Topology cpuTopology `json:"topology"`
}

// CPUInfo is the JSON text of the fake's cpu_info for a host of vcpus
// CPUs: nova's fake CPU (x86_64 Nehalem by Intel) with one socket per CPU.
func CPUInfo(vcpus int) string {
	if vcpus < 1 {
		vcpus = 1
	}
	b, err := json.Marshal(cpuInfo{Arch: "x86_64", Model: "Nehalem", Vendor: "Intel",
		Features: []string{"pge", "clflush"}, Topology: cpuTopology{Cores: 1, Threads: 1, Sockets: vcpus}})
	if err != nil { // a fixed struct of strings and ints always marshals
		panic(err)
	}
	return string(b)
}

// GetHostUptime is the compute's get_host_uptime: the line `uptime`
// prints, as the libvirt driver returns it, made from the host's
// /proc/uptime and /proc/loadavg (the fake hypervisor runs on a real
// host). Where those files are missing it fails, as a driver without the
// call does (nova answers 501).
func (d *Driver) GetHostUptime(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "", fmt.Errorf("fake: host uptime: %w", err)
	}
	load, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "", fmt.Errorf("fake: host load: %w", err)
	}
	return formatUptime(time.Now(), string(up), string(load))
}

// formatUptime renders procps' uptime line from /proc/uptime and
// /proc/loadavg texts: " HH:MM:SS up D days, H:MM,  0 users,  load
// average: 0.00, 0.01, 0.05".
func formatUptime(now time.Time, up, load string) (string, error) {
	f := strings.Fields(up)
	if len(f) == 0 {
		return "", fmt.Errorf("fake: /proc/uptime %q", up)
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "", fmt.Errorf("fake: /proc/uptime %q: %w", up, err)
	}
	l := strings.Fields(load)
	if len(l) < 3 {
		return "", fmt.Errorf("fake: /proc/loadavg %q", load)
	}
	total := int64(secs) / 60
	days, hours, mins := total/(24*60), (total/60)%24, total%60
	var b strings.Builder
	fmt.Fprintf(&b, " %s up ", now.Format("15:04:05"))
	if days > 0 {
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		fmt.Fprintf(&b, "%d %s, ", days, unit)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%2d:%02d, ", hours, mins)
	} else {
		fmt.Fprintf(&b, "%d min, ", mins)
	}
	fmt.Fprintf(&b, " 0 users,  load average: %s, %s, %s", l[0], l[1], l[2])
	return b.String(), nil
}
