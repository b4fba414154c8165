package api

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

const unknownServer = "6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00"

// activeServer boots a server as token and makes it ACTIVE.
func (e *env) activeServer(t *testing.T, token, name string) string {
	t.Helper()
	id := e.boot(t, token, name)
	e.setVMTask(t, id, states.VMActive, states.TaskNone)
	return id
}

func (e *env) setVMTask(t *testing.T, id string, vm states.VMState, task states.TaskState) {
	t.Helper()
	if _, err := e.compute.UpdateInstance(context.Background(), id, computedb.InstanceUpdate{VMState: &vm, TaskState: &task}); err != nil {
		t.Fatal(err)
	}
}

func TestServerMetadataCRUD(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b, func(d *Deps, _ *computeapi.Options) {
				d.MetadataItemsLimit = func(context.Context, string) int { return 3 }
			})
			e.addNode("c1", 8, 16384, 200)
			id := e.activeServer(t, alice, "vm")
			base := "/v2.1/servers/" + id + "/metadata"
			meta := func(r resp, key string) map[string]any {
				t.Helper()
				r.want(t, 200)
				return obj(t, r.Body[key])
			}
			if m := meta(e.do("GET", base, alice, "", nil), "metadata"); len(m) != 0 {
				t.Fatalf("index %v", m)
			}
			// Validation before lookup: a malformed body is a 400 even
			// for a server that does not exist.
			e.do("POST", "/v2.1/servers/"+unknownServer+"/metadata", alice, "", map[string]any{"metadata": map[string]any{"k": 1}}).wantFault(t, 400, "")
			e.do("POST", "/v2.1/servers/"+unknownServer+"/metadata", alice, "", map[string]any{"meta": map[string]any{}}).wantFault(t, 400, "")
			e.do("PUT", "/v2.1/servers/"+unknownServer+"/metadata/k", alice, "", map[string]any{"meta": map[string]any{}}).wantFault(t, 400, "")
			e.do("POST", "/v2.1/servers/"+unknownServer+"/metadata", alice, "", map[string]any{"metadata": map[string]any{"k": "v"}}).
				wantFault(t, 404, "Instance "+unknownServer+" could not be found.")
			e.do("POST", base, alice, "", map[string]any{"metadata": map[string]any{strings.Repeat("k", 256): "v"}}).wantFault(t, 400, "")
			e.do("POST", base, alice, "", map[string]any{"metadata": map[string]any{"k": strings.Repeat("v", 256)}}).wantFault(t, 400, "")

			if m := meta(e.do("POST", base, alice, "", map[string]any{"metadata": map[string]any{"a": "1", "b": "2"}}), "metadata"); len(m) != 2 {
				t.Fatalf("create %v", m)
			}
			if m := meta(e.do("POST", base, alice, "", map[string]any{"metadata": map[string]any{"b": "3"}}), "metadata"); m["a"] != "1" || m["b"] != "3" {
				t.Fatalf("merge %v", m)
			}
			e.do("POST", base, alice, "", map[string]any{"metadata": map[string]any{"c": "1", "d": "2"}}).
				wantFault(t, 403, "Maximum number of metadata items exceeds 3")
			if m := meta(e.do("PUT", base, alice, "", map[string]any{"metadata": map[string]any{"x": "9"}}), "metadata"); len(m) != 1 || m["x"] != "9" {
				t.Fatalf("update_all %v", m)
			}
			if m := meta(e.do("GET", base+"/x", alice, "", nil), "meta"); m["x"] != "9" {
				t.Fatalf("show %v", m)
			}
			e.do("GET", base+"/a", alice, "", nil).wantFault(t, 404, "Metadata item was not found")
			e.do("PUT", base+"/x", alice, "", map[string]any{"meta": map[string]any{"y": "1"}}).wantFault(t, 400, "Request body and URI mismatch")
			e.do("PUT", base+"/x", alice, "", map[string]any{"meta": map[string]any{"x": "1", "y": "1"}}).wantFault(t, 400, "")
			if m := meta(e.do("PUT", base+"/y", alice, "", map[string]any{"meta": map[string]any{"y": "2"}}), "meta"); m["y"] != "2" {
				t.Fatalf("update item %v", m)
			}
			e.do("DELETE", base+"/x", alice, "", nil).want(t, 204)
			e.do("DELETE", base+"/x", alice, "", nil).wantFault(t, 404, "Metadata item was not found")
			if s := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "", nil).Body["server"]); fmt.Sprint(s["metadata"]) != "map[y:2]" {
				t.Fatalf("server metadata %v", s["metadata"])
			}
			// Another project's server is not found; the policy refuses
			// what the caller sees but may not change.
			e.do("GET", base, bob, "", nil).wantFault(t, 404, "")
			// Only in nova's states: 409 while building or with a task.
			e.setVMTask(t, id, states.VMActive, states.TaskRebooting)
			e.do("POST", base, alice, "", map[string]any{"metadata": map[string]any{"z": "1"}}).
				wantFault(t, 409, "Cannot 'update metadata' instance "+id+" while it is in task_state rebooting")
			e.setVMTask(t, id, states.VMBuilding, states.TaskNone)
			e.do("DELETE", base+"/y", alice, "", nil).wantFault(t, 409, "Cannot 'delete metadata' instance "+id+" while it is in vm_state building")
			e.do("GET", base, alice, "", nil).want(t, 200)
		})
	}
}

// Concurrent creates of metadata never pass the limit: the count and the
// write are one step of the store.
func TestServerMetadataLimitUnderConcurrency(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b, func(d *Deps, _ *computeapi.Options) {
				d.MetadataItemsLimit = func(context.Context, string) int { return 5 }
			})
			e.addNode("c1", 8, 16384, 200)
			id := e.activeServer(t, alice, "vm")
			var wg sync.WaitGroup
			codes := make(chan int, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					codes <- e.do("POST", "/v2.1/servers/"+id+"/metadata", alice, "", map[string]any{"metadata": map[string]any{fmt.Sprintf("k%d", i): "v"}}).Code
				}(i)
			}
			wg.Wait()
			close(codes)
			ok := 0
			for c := range codes {
				if c == 200 {
					ok++
				} else if c != 403 {
					t.Fatalf("status %d", c)
				}
			}
			in, _ := e.compute.GetInstance(context.Background(), id)
			if ok != 5 || len(in.Metadata) != 5 {
				t.Fatalf("%d creates passed, %d items stored; want 5", ok, len(in.Metadata))
			}
		})
	}
}

func TestServerTags(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		e.addNode("c1", 8, 16384, 200)
		id := e.activeServer(t, alice, "vm")
		base := "/v2.1/servers/" + id + "/tags"
		tags := func(r resp) string {
			t.Helper()
			r.want(t, 200)
			var out []string
			for _, x := range list(t, r.Body["tags"]) {
				out = append(out, x.(string))
			}
			return strings.Join(out, ",")
		}
		e.do("GET", base, alice, "2.25", nil).wantFault(t, 404, "")
		if got := tags(e.do("GET", base, alice, "2.26", nil)); got != "" {
			t.Fatalf("index %s", got)
		}
		e.do("PUT", "/v2.1/servers/"+unknownServer+"/tags", alice, "2.26", map[string]any{"tags": []any{"a,b"}}).wantFault(t, 400, "")
		e.do("PUT", "/v2.1/servers/"+unknownServer+"/tags", alice, "2.26", map[string]any{"tags": []any{"a"}}).
			wantFault(t, 404, "Instance "+unknownServer+" could not be found.")
		e.do("PUT", base, alice, "2.26", map[string]any{"tags": []any{strings.Repeat("t", 61)}}).wantFault(t, 400, "")
		e.do("PUT", base, alice, "2.26", map[string]any{"tags": []any{1}}).wantFault(t, 400, "")
		var many []any
		for i := 0; i < 51; i++ {
			many = append(many, fmt.Sprintf("t%02d", i))
		}
		e.do("PUT", base, alice, "2.26", map[string]any{"tags": many}).wantFault(t, 400, "")
		if got := tags(e.do("PUT", base, alice, "2.26", map[string]any{"tags": []any{"b", "a", "b"}})); got != "a,b" {
			t.Fatalf("update_all %s", got)
		}
		e.do("GET", base+"/a", alice, "2.26", nil).want(t, 204)
		e.do("GET", base+"/z", alice, "2.26", nil).wantFault(t, 404, "Server "+id+" has no tag 'z'")
		r := e.do("PUT", base+"/c", alice, "2.26", nil)
		if r.want(t, 201); !strings.HasSuffix(r.Header.Get("Location"), "/v2.1/servers/"+id+"/tags/c") {
			t.Fatalf("Location %q", r.Header.Get("Location"))
		}
		e.do("PUT", base+"/c", alice, "2.26", nil).want(t, 204)
		e.do("PUT", base+"/c", alice, "2.26", map[string]any{}).wantFault(t, 400, "")
		e.do("PUT", base+"/a,b", alice, "2.26", nil).wantFault(t, 400,
			"Tag 'a,b' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: 'a,b' does not match '^[^,/]*$'")
		if s := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "2.26", nil).Body["server"]); fmt.Sprint(s["tags"]) != "[a b c]" {
			t.Fatalf("server tags %v", s["tags"])
		}
		if s := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "2.25", nil).Body["server"]); s["tags"] != nil {
			t.Fatalf("tags before 2.26 %v", s["tags"])
		}
		e.do("DELETE", base+"/c", alice, "2.26", nil).want(t, 204)
		e.do("DELETE", base+"/c", alice, "2.26", nil).wantFault(t, 404, "Instance "+id+" has no tag 'c'")
		// Another project's server: the policy refuses (nova finds it
		// by its mapping, not in the caller's project).
		e.do("GET", base, bob, "2.26", nil).wantFault(t, 403, "")
		e.do("DELETE", base, bob, "2.26", nil).wantFault(t, 403, "")
		// The 50-tag limit of a single add.
		e.do("PUT", base, alice, "2.26", map[string]any{"tags": many[:50]}).want(t, 200)
		e.do("PUT", base+"/one-more", alice, "2.26", nil).wantFault(t, 400, "The number of tags exceeded the per-server limit 50")
		e.setVMTask(t, id, states.VMBuilding, states.TaskNone)
		e.do("PUT", base+"/x", alice, "2.26", nil).wantFault(t, 409, "Cannot 'update tag' instance "+id+" while it is in vm_state building")
		e.do("DELETE", base, alice, "2.26", nil).wantFault(t, 409, "")
		e.setVMTask(t, id, states.VMStopped, states.TaskNone)
		e.do("DELETE", base, alice, "2.26", nil).want(t, 204)
		if got := tags(e.do("GET", base, alice, "2.26", nil)); got != "" {
			t.Fatalf("after delete_all %s", got)
		}
		// 2.52: tags at create.
		body := bootBody("tagged", "1")
		body["server"].(map[string]any)["tags"] = []any{"x", "y"}
		body["server"].(map[string]any)["networks"] = "none"
		e.do("POST", "/v2.1/servers", alice, "2.51", body).wantFault(t, 400, "")
		r = e.do("POST", "/v2.1/servers", alice, "2.52", body)
		r.want(t, 202)
		tagged := obj(t, r.Body["server"])["id"].(string)
		if got := tags(e.do("GET", "/v2.1/servers/"+tagged+"/tags", alice, "2.26", nil)); got != "x,y" {
			t.Fatalf("tags at create %s", got)
		}
	})
}

// A microversion above the default maximum is refused when the API serves
// only up to 2.53.
func TestTagsNeedTheirMicroversion(t *testing.T) {
	e := newEnv(t, memBackend, func(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.25") })
	e.addNode("c1", 8, 16384, 200)
	id := e.activeServer(t, alice, "vm")
	e.do("GET", "/v2.1/servers/"+id+"/tags", alice, "latest", nil).wantFault(t, 404, "")
}

func (e *env) setStateActive(t *testing.T, id string) {
	e.setVMTask(t, id, states.VMActive, states.TaskNone)
}
