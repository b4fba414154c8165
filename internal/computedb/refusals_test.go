package computedb

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
)

// secret stands for a value that came from outside: errors name the field,
// never quote the value.
const secret = "s3cr3t-value"

// contractRefusals: both stores refuse, with ErrInvalid and before writing
// anything, every value Postgres would refuse (text that is not UTF-8 or
// holds a NUL, text longer than its column, integers beyond the integer
// columns, NUL in jsonb metadata), and accept the values at the limits.
func contractRefusals(t *testing.T, s Store) {
	ctx := context.Background()
	long := strings.Repeat("x", 256)
	wide := strings.Repeat("é", 255) // 255 characters, 510 bytes: fits varchar(255)
	wantInvalid := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", what, err)
			return
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error quotes the value: %v", what, err)
		}
	}
	texts := map[string]string{
		"not UTF-8": secret + "\xff", "NUL": secret + "\x00", "too long": secret + long,
	}

	// Instances.
	instanceFields := map[string]func(*Instance, string){
		"display_name": func(in *Instance, v string) { in.DisplayName = v },
		"user_id":      func(in *Instance, v string) { in.UserID = v },
		"project_id":   func(in *Instance, v string) { in.ProjectID = v },
		"host":         func(in *Instance, v string) { in.Host = v },
		"node":         func(in *Instance, v string) { in.Node = v },
		"vm_state":     func(in *Instance, v string) { in.VMState = states.VMState(v) },
		"task_state":   func(in *Instance, v string) { in.TaskState = states.TaskState(v) },
		"flavor_id":    func(in *Instance, v string) { in.FlavorID = v },
		"image_ref":    func(in *Instance, v string) { in.ImageRef = v },
		"metadata key": func(in *Instance, v string) { in.Metadata = map[string]string{v: "v"} },
		"metadata val": func(in *Instance, v string) { in.Metadata = map[string]string{"k": v} },
	}
	for field, set := range instanceFields {
		for kind, v := range texts {
			in := Instance{DisplayName: "vm"}
			set(&in, v)
			_, err := s.CreateInstance(ctx, in)
			wantInvalid("CreateInstance "+field+" "+kind, err)
		}
	}
	for name, in := range map[string]Instance{
		"vcpus":       {VCPUs: math.MaxInt32 + 1},
		"power_state": {PowerState: states.PowerState(math.MinInt32 - 1)},
		"uuid":        {UUID: "not-a-uuid-" + secret},
	} {
		_, err := s.CreateInstance(ctx, in)
		wantInvalid("CreateInstance "+name, err)
	}
	if list, err := s.ListInstances(ctx, InstanceFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("refused creates left %d instances (%v)", len(list), err)
	}
	// At the limits.
	in, err := s.CreateInstance(ctx, Instance{DisplayName: wide, UserID: wide, ProjectID: wide, Host: wide, Node: wide,
		FlavorID: wide, ImageRef: wide, VCPUs: math.MaxInt32, PowerState: states.PowerState(math.MinInt32),
		Metadata: map[string]string{wide: wide, "": ""}})
	if err != nil {
		t.Fatalf("values at the limits: %v", err)
	}
	got, err := s.GetInstance(ctx, in.UUID)
	if err != nil || got.DisplayName != wide || got.Metadata[wide] != wide || got.VCPUs != math.MaxInt32 || got.PowerState != math.MinInt32 {
		t.Fatalf("values at the limits read back as %+v, %v", got, err)
	}

	// Updates: refused before anything is written, whether the instance
	// exists or not.
	missing := "5f0c4bde-22f1-4d0b-8b8e-0c1f3f3f3f3f"
	for kind, v := range texts {
		v := v
		vm := states.VMState(v)
		task := states.TaskState(v)
		for name, u := range map[string]InstanceUpdate{
			"host": {Host: &v}, "node": {Node: &v}, "vm_state": {VMState: &vm}, "task_state": {TaskState: &task},
			"expected task_state": {ExpectTaskState: &task},
		} {
			_, err := s.UpdateInstance(ctx, in.UUID, u)
			wantInvalid("UpdateInstance "+name+" "+kind, err)
			_, err = s.UpdateInstance(ctx, missing, u)
			wantInvalid("UpdateInstance (missing instance) "+name+" "+kind, err)
		}
		if kind != "too long" { // a fault message is text: any length
			_, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{Fault: &Fault{Code: 500, Message: v}})
			wantInvalid("UpdateInstance fault message "+kind, err)
		}
	}
	ps := states.PowerState(math.MaxInt32 + 1)
	_, err = s.UpdateInstance(ctx, in.UUID, InstanceUpdate{PowerState: &ps})
	wantInvalid("UpdateInstance power_state", err)
	_, err = s.UpdateInstance(ctx, in.UUID, InstanceUpdate{Fault: &Fault{Code: 1 << 40, Message: "m"}})
	wantInvalid("UpdateInstance fault code", err)
	if got, _ := s.GetInstance(ctx, in.UUID); got.Host != wide || got.UpdatedAt != nil || got.Fault != nil {
		t.Fatalf("refused updates changed the row: %+v", got)
	}
	longMsg := strings.Repeat("m", 100000)
	if up, err := s.UpdateInstance(ctx, in.UUID, InstanceUpdate{Fault: &Fault{Code: 500, Message: longMsg}}); err != nil || up.Fault.Message != longMsg {
		t.Fatalf("a long fault message: %v", err)
	}

	// Filters and host arguments.
	for kind, v := range texts {
		_, err := s.ListInstances(ctx, InstanceFilter{ProjectID: v})
		wantInvalid("ListInstances project_id "+kind, err)
		_, err = s.ListInstances(ctx, InstanceFilter{Host: v})
		wantInvalid("ListInstances host "+kind, err)
		_, err = s.ListInstances(ctx, InstanceFilter{VMState: states.VMState(v)})
		wantInvalid("ListInstances vm_state "+kind, err)
		_, err = s.ListInstances(ctx, InstanceFilter{TaskState: states.TaskState(v)})
		wantInvalid("ListInstances task_state "+kind, err)
		_, err = s.CountInstancesByHost(ctx, v)
		wantInvalid("CountInstancesByHost "+kind, err)
		_, err = s.DeleteNodesByHost(ctx, v)
		wantInvalid("DeleteNodesByHost "+kind, err)
	}
	for _, m := range []string{"garbage", strings.Repeat("m", 300), "\xff", "a\x00"} {
		if _, err := s.ListInstances(ctx, InstanceFilter{Marker: m}); !errors.Is(err, ErrNotFound) {
			t.Errorf("ListInstances marker %q: err = %v, want ErrNotFound", m, err)
		}
	}
	if list, err := s.ListInstances(ctx, InstanceFilter{Limit: math.MaxInt32 + 1}); err != nil || len(list) != 1 {
		t.Errorf("ListInstances with a limit beyond int32: %d, %v", len(list), err)
	}

	// Nodes.
	nodeFields := map[string]func(*Node, string){
		"host":                func(n *Node, v string) { n.Host = v },
		"hypervisor_hostname": func(n *Node, v string) { n.HypervisorHostname = v },
		"hypervisor_type":     func(n *Node, v string) { n.HypervisorType = v },
		"host_ip":             func(n *Node, v string) { n.HostIP = v },
		"cpu_info":            func(n *Node, v string) { n.CPUInfo = v },
	}
	for field, set := range nodeFields {
		for kind, v := range texts {
			if field == "cpu_info" && kind == "too long" {
				continue // text
			}
			n := Node{Host: "h", HypervisorHostname: "h"}
			set(&n, v)
			_, err := s.UpsertNode(ctx, n)
			wantInvalid("UpsertNode "+field+" "+kind, err)
		}
	}
	_, err = s.UpsertNode(ctx, Node{Host: "h", HypervisorHostname: "h", HostIP: strings.Repeat("1", 65)})
	wantInvalid("UpsertNode host_ip of 65", err)
	for name, n := range map[string]Node{
		"vcpus":            {VCPUs: math.MaxInt32 + 1},
		"vcpus_used":       {VCPUsUsed: math.MinInt32 - 1},
		"running_vms":      {RunningVMs: math.MaxInt32 + 1},
		"current_workload": {CurrentWorkload: math.MaxInt32 + 1},
		"service_id":       {ServiceID: math.MaxInt32 + 1},
	} {
		n.Host, n.HypervisorHostname = "h", "h"
		_, err := s.UpsertNode(ctx, n)
		wantInvalid("UpsertNode "+name, err)
	}
	if nodes, err := s.ListNodes(ctx); err != nil || len(nodes) != 0 {
		t.Fatalf("refused upserts left %d nodes (%v)", len(nodes), err)
	}
	n, err := s.UpsertNode(ctx, Node{Host: wide, HypervisorHostname: wide, HypervisorType: wide, HostIP: strings.Repeat("é", 64),
		CPUInfo: strings.Repeat("c", 100000), VCPUs: math.MaxInt32, ServiceID: math.MaxInt32, MemoryMB: math.MaxInt64})
	if err != nil || n.Host != wide || n.MemoryMB != math.MaxInt64 {
		t.Fatalf("node at the limits: %+v, %v", n, err)
	}
	for _, id := range []int64{0, -1, math.MaxInt32 + 1, 3000000000, math.MaxInt64, math.MinInt64} {
		if _, err := s.GetNode(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetNode(%d): err = %v, want ErrNotFound", id, err)
		}
	}
}

// contractUUIDSpellings: every spelling of a uuid that uuid.Parse accepts
// names the same instance in both stores; the row keeps the canonical form.
func contractUUIDSpellings(t *testing.T, s Store) {
	ctx := context.Background()
	const id = "5f0c4bde-22f1-4d0b-8b8e-0c1f3f3f3f3a"
	spell := []string{strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id, strings.ReplaceAll(id, "-", ""), id}
	in, err := s.CreateInstance(ctx, Instance{UUID: "urn:uuid:" + strings.ToUpper(id), DisplayName: "vm"})
	if err != nil || in.UUID != id {
		t.Fatalf("create with a urn upper-case uuid = %q, %v", in.UUID, err)
	}
	for _, sp := range spell {
		if _, err := s.CreateInstance(ctx, Instance{UUID: sp}); !errors.Is(err, ErrConflict) {
			t.Errorf("create %s again: err = %v, want ErrConflict", sp, err)
		}
		got, err := s.GetInstance(ctx, sp)
		if err != nil || got.UUID != id {
			t.Errorf("GetInstance(%s) = %q, %v", sp, got.UUID, err)
		}
		host := "h-" + sp
		if up, err := s.UpdateInstance(ctx, sp, InstanceUpdate{Host: &host}); err != nil || up.UUID != id || up.Host != host {
			t.Errorf("UpdateInstance(%s) = %+v, %v", sp, up, err)
		}
		if page, err := s.ListInstances(ctx, InstanceFilter{Marker: sp}); err != nil || len(page) != 0 {
			t.Errorf("ListInstances(marker %s) = %d, %v", sp, len(page), err)
		}
	}
	none := states.TaskNone
	deleting := states.TaskDeleting
	if _, err := s.UpdateInstance(ctx, strings.ToUpper(id), InstanceUpdate{TaskState: &deleting, ExpectTaskState: &none}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateInstance(ctx, "{"+id+"}", InstanceUpdate{TaskState: &none, ExpectTaskState: &none}); !errors.Is(err, ErrConflict) {
		t.Errorf("conditional update by another spelling: err = %v, want ErrConflict", err)
	}
	if err := s.DeleteInstance(ctx, "urn:uuid:"+id); err != nil {
		t.Fatal(err)
	}
	for _, sp := range spell {
		if _, err := s.GetInstance(ctx, sp); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetInstance(%s) after delete: err = %v", sp, err)
		}
	}
	for _, bad := range []string{"uuid:" + id, "urn:" + id, "{" + id, id + "}", id[:35], "", "\xff", "a\x00"} {
		if _, err := s.GetInstance(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetInstance(%q): err = %v, want ErrNotFound", bad, err)
		}
		if err := s.DeleteInstance(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteInstance(%q): err = %v, want ErrNotFound", bad, err)
		}
		st := states.VMActive
		if _, err := s.UpdateInstance(ctx, bad, InstanceUpdate{VMState: &st}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateInstance(%q): err = %v, want ErrNotFound", bad, err)
		}
	}
}

// contractClaimInputs: the claims methods take the same inputs as the rest:
// any uuid spelling, node ids beyond the serial range naming no node, node
// reports refused as UpsertNode refuses them.
func contractClaimInputs(t *testing.T, s Store) {
	ctx := context.Background()
	for name, n := range map[string]Node{
		"host NUL":       {Host: "h\x00", HypervisorHostname: "h"},
		"type not UTF-8": {Host: "h", HypervisorHostname: "h", HypervisorType: "\xff"},
		"host_ip long":   {Host: "h", HypervisorHostname: "h", HostIP: strings.Repeat("1", 65)},
		"vcpus_reserved": {Host: "h", HypervisorHostname: "h", VCPUsReserved: math.MaxInt32 + 1},
		"vcpus":          {Host: "h", HypervisorHostname: "h", VCPUs: math.MinInt32 - 1},
	} {
		_, err := s.ReportNode(ctx, n, AllocationRatios{})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ReportNode %s: err = %v, want ErrInvalid", name, err)
		}
	}
	node, err := s.ReportNode(ctx, Node{Host: "h", HypervisorHostname: "h", VCPUs: 8, MemoryMB: 8192, LocalGB: 100}, AllocationRatios{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.CreateInstance(ctx, Instance{DisplayName: "vm", VCPUs: 1, MemoryMB: 512, RootGB: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{0, -1, math.MaxInt32 + 1, math.MaxInt64, math.MinInt64} {
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: in.UUID, NodeID: id}); !errors.Is(err, ErrNodeNotFound) || errors.Is(err, ErrNotFound) {
			t.Errorf("ClaimInstance on node %d: err = %v, want ErrNodeNotFound", id, err)
		}
	}
	for _, bad := range []string{"garbage", "uuid:" + in.UUID, "", "\xff"} {
		if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: bad, NodeID: node.ID}); !errors.Is(err, ErrNotFound) {
			t.Errorf("ClaimInstance(%q): err = %v, want ErrNotFound", bad, err)
		}
		if released, err := s.ReleaseClaim(ctx, bad); released || err != nil {
			t.Errorf("ReleaseClaim(%q) = %v, %v", bad, released, err)
		}
	}
	got, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: "urn:uuid:" + strings.ToUpper(in.UUID), NodeID: node.ID})
	if err != nil || got.UUID != in.UUID || got.Host != "h" {
		t.Fatalf("claim by a urn spelling = %+v, %v", got, err)
	}
	if _, err := s.ClaimInstance(ctx, ClaimRequest{InstanceUUID: strings.ReplaceAll(in.UUID, "-", ""), NodeID: node.ID}); err != nil {
		t.Fatalf("the same claim by another spelling: %v", err)
	}
	if n, _ := s.GetNode(ctx, node.ID); n.VCPUsUsed != 1 || n.RunningVMs != 1 {
		t.Fatalf("node after one claim spelled twice: %+v", n)
	}
	if released, err := s.ReleaseClaim(ctx, "{"+strings.ToUpper(in.UUID)+"}"); !released || err != nil {
		t.Fatalf("ReleaseClaim by braces = %v, %v", released, err)
	}
	if released, _ := s.ReleaseClaim(ctx, in.UUID); released {
		t.Fatal("a claim was released twice")
	}
}
