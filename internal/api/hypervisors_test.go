package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// fakeUptime is the uptime line the test compute reports; host
// "no-uptime" has a driver without it.
const fakeUptime = " 08:32:11 up 93 days, 18:25,  0 users,  load average: 0.20, 0.12, 0.14"

// GetHostUptime makes fakeCompute a computeapi.HostRPC.
func (f *fakeCompute) GetHostUptime(_ context.Context, host string) (string, error) {
	if host == "no-uptime" {
		return "", computeapi.ErrNotSupported
	}
	return fakeUptime, nil
}

// infraNode is a compute node with every field set, as nova-compute
// reports one.
func (e *env) infraNode(host string) (registry.Service, computedb.Node) {
	e.t.Helper()
	s := e.addService(host, registry.BinaryCompute)
	n, err := e.compute.UpsertNode(context.Background(), computedb.Node{Host: host, HypervisorHostname: host + ".example",
		HypervisorType: fake.HypervisorType, HypervisorVersion: fake.HypervisorVersion, HostIP: "192.0.2.10",
		VCPUs: 8, VCPUsUsed: 2, MemoryMB: 16384, MemoryMBUsed: 2560, LocalGB: 100, LocalGBUsed: 10, FreeRAMMB: 13824,
		FreeDiskGB: 90, RunningVMs: 2, CurrentWorkload: 1, DiskAvailableLeast: 85, ServiceID: s.ID, CPUInfo: fake.CPUInfo(8)})
	if err != nil {
		e.t.Fatal(err)
	}
	return s, n
}

// TestHypervisorViewMatchesNova puts gonova's hypervisor bodies beside
// nova 26's _view_hypervisor on the same node and service, at each version
// that changes them: the same keys and values.
func TestHypervisorViewMatchesNova(t *testing.T) {
	testenv.RequirePython(t, "nova.api.openstack.compute.hypervisors", "python3-nova")
	e := newEnv(t, memBackend, maxNova)
	svc, node := e.infraNode("c1")
	reason := "maintenance"
	if _, err := e.services.Update(context.Background(), svc.ID, registry.Update{Disabled: ptr(true), DisabledReason: &reason}); err != nil {
		t.Fatal(err)
	}
	svc, _ = e.services.Get(context.Background(), svc.ID)
	in, err := e.compute.CreateInstance(context.Background(), computedb.Instance{DisplayName: "vm1", ProjectID: "p", Host: "c1", Node: node.HypervisorHostname})
	if err != nil {
		t.Fatal(err)
	}
	type kase struct {
		Version     string           `json:"version"`
		Detail      bool             `json:"detail"`
		Node        map[string]any   `json:"node"`
		Service     map[string]any   `json:"service"`
		Up          bool             `json:"up"`
		Uptime      *string          `json:"uptime"`
		Servers     []map[string]any `json:"servers"`
		WithServers bool             `json:"with_servers"`
		path        string
	}
	nodeJSON := map[string]any{"id": node.ID, "uuid": node.UUID, "host": node.Host, "hypervisor_hostname": node.HypervisorHostname,
		"hypervisor_type": node.HypervisorType, "hypervisor_version": node.HypervisorVersion, "host_ip": node.HostIP,
		"vcpus": node.VCPUs, "vcpus_used": node.VCPUsUsed, "memory_mb": node.MemoryMB, "memory_mb_used": node.MemoryMBUsed,
		"local_gb": node.LocalGB, "local_gb_used": node.LocalGBUsed, "free_ram_mb": node.FreeRAMMB, "free_disk_gb": node.FreeDiskGB,
		"current_workload": node.CurrentWorkload, "running_vms": node.RunningVMs, "disk_available_least": node.DiskAvailableLeast,
		"cpu_info": node.CPUInfo}
	svcJSON := map[string]any{"id": svc.ID, "uuid": svc.UUID, "disabled": svc.Disabled, "disabled_reason": svc.DisabledReason}
	up := fakeUptime
	var cases []kase
	for _, v := range []string{"2.1", "2.27", "2.28", "2.33", "2.52", "2.53", "2.74", "2.75", "2.87", "2.88", "2.93"} {
		mv := microversion.MustParse(v)
		id := fmt.Sprint(node.ID)
		if mv.AtLeast(2, 53) {
			id = node.UUID
		}
		cases = append(cases,
			kase{Version: v, Detail: true, path: "/v2.1/os-hypervisors/" + id},
			kase{Version: v, Detail: false, path: "/v2.1/os-hypervisors"},
			kase{Version: v, Detail: true, path: "/v2.1/os-hypervisors/detail"})
		if mv.AtLeast(2, 53) {
			cases = append(cases,
				kase{Version: v, Detail: true, WithServers: true, path: "/v2.1/os-hypervisors/" + id + "?with_servers=true",
					Servers: []map[string]any{{"name": in.DisplayName, "uuid": in.UUID}}},
				kase{Version: v, Detail: false, WithServers: true, path: "/v2.1/os-hypervisors?with_servers=1",
					Servers: []map[string]any{{"name": in.DisplayName, "uuid": in.UUID}}})
		} else {
			cases = append(cases, kase{Version: v, Detail: false, path: "/v2.1/os-hypervisors/c1/servers",
				Servers: []map[string]any{{"name": in.DisplayName, "uuid": in.UUID}}})
		}
	}
	for i := range cases {
		cases[i].Node, cases[i].Service, cases[i].Up, cases[i].Uptime = nodeJSON, svcJSON, true, &up
		if cases[i].Servers == nil {
			cases[i].Servers = []map[string]any{}
		}
	}
	input, _ := json.Marshal(cases)
	cmd := exec.Command(testenv.PythonPath, "testdata/nova_hypervisor_view_referee.py")
	cmd.Stdin = strings.NewReader(string(input))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("referee: %v", err)
	}
	var want []map[string]any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("referee said %s: %v", out, err)
	}
	for i, c := range cases {
		r := e.do("GET", c.path, admin, c.Version, nil)
		r.want(t, 200)
		var got map[string]any
		if h, ok := r.Body["hypervisor"]; ok {
			got = obj(t, h)
		} else {
			got = obj(t, list(t, r.Body["hypervisors"])[0])
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s at %s:\n gonova %v\n   nova %v", c.path, c.Version, got, want[i])
		}
	}
}

func ptr[T any](v T) *T { return &v }
