package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// deployment is one test's Postgres database and RabbitMQ control exchange.
type deployment struct {
	dbURL    string
	exchange string
	rabbit   string
}

func newDeployment(t testing.TB) deployment {
	t.Helper()
	testenv.RequirePostgres(t)
	testenv.RequireRabbit(t)
	return deployment{
		dbURL:    pgtest.NewDatabase(t),
		exchange: testenv.UniqueName("e2e_"),
		rabbit:   strings.Replace(testenv.RabbitURL(), "amqp://", "rabbit://", 1),
	}
}

func (d deployment) computeConf(t testing.TB, host, metrics string) string {
	return writeConf(t, host+".conf", map[string]map[string]string{
		"DEFAULT": {
			"host": host, "transport_url": d.rabbit, "control_exchange": d.exchange,
			"report_interval": "1", "periodic_fuzzy_delay": "0", "graceful_shutdown_timeout": "20",
			"update_resources_interval": "1", "sync_power_state_interval": "1",
		},
		"database": {"connection": d.dbURL},
		"gonova":   {"metrics_listen": metrics},
	})
}

type computeProc struct {
	*proc
	host, health string
}

func (d deployment) startCompute(t testing.TB, host string) computeProc {
	t.Helper()
	addr := freeAddr(t)
	p := start(t, "nova-compute", host, d.computeConf(t, host, addr))
	c := computeProc{proc: p, host: host, health: "http://" + addr}
	return c
}

// Two nova-compute processes on different hosts: rows, heartbeats, periodic
// resource reports, baseapi.ping from Python, instance lifecycle over RPC, and
// a restart that reuses the row.
func TestTwoComputesOnRealParts(t *testing.T) {
	d := newDeployment(t)
	ctx := context.Background()
	c1, c2 := d.startCompute(t, "compute-a"), d.startCompute(t, "compute-b")
	var wg sync.WaitGroup
	for _, c := range []computeProc{c1, c2} {
		wg.Add(1)
		go func(c computeProc) { defer wg.Done(); waitHealthy(t, c.proc, c.health, 30*time.Second) }(c)
	}
	wg.Wait()

	pool := pgtest.OpenPool(t, d.dbURL)
	services := pgstore.New(pool)
	nodes := computedb.NewPG(pool)

	// Rows exist and heartbeats count up.
	rows := map[string]registry.Service{}
	eventually(t, 15*time.Second, "both computes heartbeat", func() error {
		list, _, err := services.List(ctx, registry.Filter{Binary: "nova-compute"})
		if err != nil {
			return err
		}
		for _, s := range list {
			rows[s.Host] = s
		}
		for _, h := range []string{"compute-a", "compute-b"} {
			if rows[h].ReportCount < 2 || rows[h].Topic != "compute" {
				return fmt.Errorf("row of %s: %+v", h, rows[h])
			}
		}
		return nil
	})
	// update_available_resource ran in the pre-start hook.
	ns, err := nodes.ListNodes(ctx)
	if err != nil || len(ns) != 2 {
		t.Fatalf("compute_nodes = %+v, %v", ns, err)
	}
	for _, n := range ns {
		if n.VCPUs <= 0 || n.MemoryMB <= 0 || n.ServiceID != rows[n.Host].ID {
			t.Fatalf("compute node %+v (service %d)", n, rows[n.Host].ID)
		}
	}

	// Both periodic tasks run, repeatedly, on each host (their /metrics).
	for _, c := range []computeProc{c1, c2} {
		eventually(t, 15*time.Second, c.host+" runs its periodic tasks", func() error {
			for _, task := range []string{"update_available_resource", "_sync_power_states"} {
				if n := periodicRuns(t, c.health, task); n < 2 {
					return fmt.Errorf("%s ran %v times", task, n)
				}
			}
			return nil
		})
	}

	// A Python oslo.messaging client pings each compute through baseapi.
	testenv.RequirePythonOslo(t)
	for _, host := range []string{"compute-a", "compute-b"} {
		out := pyCall(t, d, host, "baseapi", "1.1", "ping", `{"arg": "from-python"}`)
		var r struct {
			OK     bool `json:"ok"`
			Result struct {
				Service string `json:"service"`
				Arg     string `json:"arg"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &r); err != nil || !r.OK || r.Result.Service != "compute" || r.Result.Arg != "from-python" {
			t.Fatalf("python ping of %s: %s (%v)", host, out, err)
		}
	}

	// Build, reboot, console output and terminate, on each host, over RabbitMQ.
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: d.rabbit, ControlExchange: d.exchange})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(ctx)
	cl, err := rpcapi.New(tr, rpcapi.Options{CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"compute-a", "compute-b"} {
		inst, err := nodes.CreateInstance(ctx, computedb.Instance{DisplayName: "vm-" + host, ProjectID: "p1", UserID: "u1",
			Host: host, Node: host, FlavorID: "1", VCPUs: 1, MemoryMB: 512, RootGB: 1, TaskState: states.TaskScheduling})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.BuildAndRunInstance(ctx, host, rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(inst), Node: inst.Node}); err != nil {
			t.Fatal(err)
		}
		waitInstance(t, nodes, inst.UUID, "active", "")
		if err := cl.RebootInstance(ctx, host, inst.UUID, "HARD"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "reboot shows in the console", func() error {
			out, err := cl.GetConsoleOutput(ctx, host, inst.UUID, -1)
			if err != nil {
				return err
			}
			if !strings.Contains(strings.ToLower(out), "reboot") {
				return fmt.Errorf("console: %q", out)
			}
			return nil
		})
		waitInstance(t, nodes, inst.UUID, "active", "")
		if err := cl.TerminateInstance(ctx, host, inst.UUID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "instance deleted", func() error {
			if _, err := nodes.GetInstance(ctx, inst.UUID); !errors.Is(err, computedb.ErrNotFound) {
				return fmt.Errorf("still there: %v", err)
			}
			return nil
		})
	}

	// SIGTERM stops gracefully (exit 0); a restart reuses the same row.
	if code := c1.stop(t, 30*time.Second); code != 0 {
		t.Fatalf("compute-a exited %d after SIGTERM", code)
	}
	c1b := d.startCompute(t, "compute-a")
	waitHealthy(t, c1b.proc, c1b.health, 30*time.Second)
	list, _, err := services.List(ctx, registry.Filter{Binary: "nova-compute", Host: "compute-a", IncludeDeleted: true})
	if err != nil || len(list) != 1 || list[0].ID != rows["compute-a"].ID {
		t.Fatalf("after restart: rows %+v, %v (want the single row %d)", list, err, rows["compute-a"].ID)
	}
	for _, c := range []*proc{c1b.proc, c2.proc} {
		if code := c.stop(t, 30*time.Second); code != 0 {
			t.Fatalf("%s exited %d", c.name, code)
		}
	}
}

// periodicRuns reads gonova_periodic_task_runs_total{task, outcome="success"}
// from a service's /metrics.
func periodicRuns(t *testing.T, base, task string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "gonova_periodic_task_runs_total{") && strings.Contains(line, `outcome="success"`) &&
			strings.Contains(line, `task="`+task+`"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return v
		}
	}
	return 0
}

func waitInstance(t *testing.T, s computedb.Store, id string, vmState states.VMState, taskState states.TaskState) {
	t.Helper()
	eventually(t, 15*time.Second, "instance "+id+" "+string(vmState), func() error {
		in, err := s.GetInstance(context.Background(), id)
		if err != nil {
			return err
		}
		if in.VMState != vmState || in.TaskState != taskState {
			return fmt.Errorf("vm_state %q task_state %q", in.VMState, in.TaskState)
		}
		return nil
	})
}

// pyCall runs the Python oslo.messaging client once and returns its JSON.
func pyCall(t *testing.T, d deployment, server, namespace, version, method, args string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.PythonPath, "../../pkg/rpcsvc/interop/testdata/pyclient.py", "call",
		"--url", d.rabbit, "--exchange", d.exchange, "--topic", "compute", "--server", server,
		"--namespace", namespace, "--version", version, "--method", method, "--args", args, "--timeout", "20")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python client: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("python client: %v", err)
	}
	return out
}
