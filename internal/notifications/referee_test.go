package notifications

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/ovo"
	"github.com/gonova/gonova/pkg/ovo/novaobj"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// TestRefereeNovaBuildsTheSamePayloads: for the rows gonova has (a build,
// an active server, a deleted one, a service), nova's own payload classes
// and info_from_instance, given nova objects holding the same values (and
// nova's defaults for what gonova has no data for), build exactly what
// gonova sends: versioned payloads field for field, legacy dicts key for key
// (image_ref_url aside: nova asks Glance for it).
func TestRefereeNovaBuildsTheSamePayloads(t *testing.T) {
	testenv.RequirePythonModules(t, "run scripts/services.sh (apt-get install python3-nova python3-oslo.messaging)",
		"oslo_messaging", "nova.objects")
	tiny := Flavor{ID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1, RxtxFactor: 1.0, IsPublic: true}
	n := &Notifier{host: "h1", source: SourceCompute, clock: clock.Real,
		flavors: func(id string) (Flavor, bool) { return tiny, id == "1" }}
	t0 := time.Date(2026, 12, 1, 8, 30, 15, 123456000, time.UTC)
	t1 := t0.Add(3*time.Second + 250*time.Millisecond)
	building := computedb.Instance{ID: 1, UUID: "7bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b12", DisplayName: "vm", UserID: "u", ProjectID: "p",
		Host: "h1", Node: "h1", VMState: states.VMBuilding, TaskState: states.TaskSpawning, PowerState: states.PowerNoState,
		FlavorID: "1", VCPUs: 1, MemoryMB: 512, RootGB: 1, ImageRef: "8bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b13",
		CreatedAt: t0, UpdatedAt: &t0, Metadata: map[string]string{"k": "v"}}
	active := building
	active.VMState, active.TaskState, active.PowerState, active.LaunchedAt, active.UpdatedAt = states.VMActive, states.TaskRebooting, states.PowerRunning, &t1, &t1
	deleted := active
	deleted.VMState, deleted.TaskState, deleted.PowerState, deleted.TerminatedAt = states.VMDeleted, states.TaskNone, states.PowerNoState, &t1

	rc := rpcsvc.Context{RequestID: "req-1", UserID: "u", ProjectID: "p"}
	ctx := rpcsvc.NewContext(context.Background(), rc)
	type row struct {
		inst      computedb.Instance
		deletedAt *time.Time
	}
	rows := []row{{building, nil}, {active, nil}, {deleted, &t1}}
	var cases []map[string]any
	var mine []any
	for _, r := range rows {
		for _, kind := range []string{"create", "action", "legacy"} {
			cases = append(cases, map[string]any{"kind": kind, "instance": pyInstance(r.inst, r.deletedAt), "context": map[string]any{"request_id": rc.RequestID, "user_id": rc.UserID, "project_id": rc.ProjectID},
				"flavor": map[string]any{"flavorid": tiny.ID, "name": tiny.Name, "memory_mb": tiny.MemoryMB, "vcpus": tiny.VCPUs,
					"root_gb": tiny.RootGB, "ephemeral_gb": tiny.EphemeralGB, "swap": tiny.Swap, "rxtx_factor": tiny.RxtxFactor,
					"disabled": tiny.Disabled, "is_public": tiny.IsPublic}})
			p := n.instancePayload(ctx, r.inst, r.deletedAt)
			switch kind {
			case "create":
				mine = append(mine, mustEncode(t, &novaobj.InstanceCreatePayload{InstanceActionPayload: novaobj.InstanceActionPayload{InstancePayload: p},
					Keypairs: []*novaobj.KeypairPayload{}, Tags: []string{}, InstanceName: novaobj.Ptr(InstanceName(r.inst))}))
			case "action":
				mine = append(mine, mustEncode(t, &novaobj.InstanceActionPayload{InstancePayload: p}))
			default:
				l := n.legacyPayload(r.inst, r.deletedAt)
				delete(l, "image_ref_url")
				mine = append(mine, l)
			}
		}
	}
	seen := t0
	svc := registry.Service{ID: 3, UUID: "6bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b11", Host: "h1", Binary: registry.BinaryCompute, Topic: "compute",
		ReportCount: 42, Disabled: true, DisabledReason: "maintenance", LastSeenUp: &seen, ForcedDown: true, Version: 1}
	api := registry.Service{ID: 4, UUID: "5bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b10", Host: "h1", Binary: registry.BinaryAPI, Version: 1}
	for _, s := range []registry.Service{svc, api} {
		cases = append(cases, map[string]any{"kind": "service", "service": map[string]any{"id": s.ID, "uuid": s.UUID, "host": s.Host,
			"binary": s.Binary, "topic": nilIfEmpty(s.Topic), "report_count": s.ReportCount, "disabled": s.Disabled,
			"disabled_reason": nilIfEmpty(s.DisabledReason), "last_seen_up": pyTime(s.LastSeenUp), "forced_down": s.ForcedDown, "version": s.Version}})
		mine = append(mine, mustEncode(t, ServicePayload(s)))
	}

	in, _ := json.Marshal(cases)
	cmd := exec.Command(testenv.PythonPath, "testdata/novabuild.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("novabuild.py: %v\n%s", err, stderr.String())
	}
	var nova []map[string]any
	if err := json.Unmarshal(out, &nova); err != nil || len(nova) != len(cases) {
		t.Fatalf("novabuild.py answered %d of %d: %v", len(nova), len(cases), err)
	}
	for i, want := range nova {
		delete(want, "nova_object.changes")
		delete(want, "image_ref_url")
		b, _ := json.Marshal(mine[i])
		var got map[string]any
		_ = json.Unmarshal(b, &got)
		if !reflect.DeepEqual(got, want) {
			wb, _ := json.Marshal(want)
			t.Errorf("case %d (%s):\n  gonova %s\n  nova   %s", i, cases[i]["kind"], b, wb)
		}
	}
}

func mustEncode(t *testing.T, v any) map[string]any {
	t.Helper()
	p, err := novaobj.Registry.Encode(v, ovo.Options{RequireAll: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pyInstance(in computedb.Instance, deletedAt *time.Time) map[string]any {
	var task any
	if in.TaskState != states.TaskNone {
		task = string(in.TaskState)
	}
	return map[string]any{"id": in.ID, "uuid": in.UUID, "user_id": in.UserID, "project_id": in.ProjectID, "display_name": in.DisplayName,
		"host": in.Host, "node": in.Node, "vm_state": string(in.VMState), "task_state": task, "power_state": int(in.PowerState),
		"created_at": pyTime(&in.CreatedAt), "launched_at": pyTime(in.LaunchedAt), "terminated_at": pyTime(in.TerminatedAt),
		"deleted_at": pyTime(deletedAt), "updated_at": pyTime(in.UpdatedAt), "metadata": in.Metadata, "image_ref": in.ImageRef}
}

func pyTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
