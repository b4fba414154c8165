package manager

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/compute/virt/fake"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// _check_instance_build_time: an instance of this host building longer than
// instance_build_timeout goes to error with nova's message as its fault;
// younger ones, other hosts' and finished ones are left alone; the counter
// has its outcome series from the start.
func TestCheckInstanceBuildTime(t *testing.T) {
	c := ctx(t)
	store := computedb.NewMem()
	// The store stamps created_at with the real time; the manager's clock is
	// an hour and a minute later.
	clk := clocktest.New(time.Now().Add(61 * time.Minute))
	reg := prometheus.NewPedanticRegistry()
	m, err := New(Options{Host: host, Driver: fake.New(fake.Options{Clock: clk, Logger: quiet}), Store: store, Clock: clk,
		Logger: quiet, Registerer: reg, InstanceBuildTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const zero = `
# HELP gonova_compute_build_timeouts_total Instances of this host found building longer than instance_build_timeout by _check_instance_build_time, by outcome (error: set to error with a fault; changed: moved on meanwhile, left alone).
# TYPE gonova_compute_build_timeouts_total counter
gonova_compute_build_timeouts_total{outcome="changed"} 0
gonova_compute_build_timeouts_total{outcome="error"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(zero), "gonova_compute_build_timeouts_total"); err != nil {
		t.Fatal(err)
	}
	mk := func(h string, vm states.VMState, task states.TaskState) computedb.Instance {
		in, err := store.CreateInstance(c, computedb.Instance{UUID: newUUID(), Host: h, VMState: vm, TaskState: task})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	stuck := mk(host, states.VMBuilding, states.TaskScheduling)
	spawning := mk(host, states.VMBuilding, states.TaskSpawning)
	active := mk(host, states.VMActive, states.TaskNone)
	elsewhere := mk("compute-2", states.VMBuilding, states.TaskScheduling)

	if err := m.CheckInstanceBuildTime(c); err != nil {
		t.Fatal(err)
	}
	for _, in := range []computedb.Instance{stuck, spawning} {
		got, _ := store.GetInstance(c, in.UUID)
		if got.VMState != states.VMError || got.TaskState != states.TaskNone || got.Fault == nil || got.Fault.Message != BuildTimeoutFault {
			t.Errorf("stuck instance after the check: %+v fault %+v", got, got.Fault)
		}
	}
	for _, in := range []computedb.Instance{active, elsewhere} {
		if got, _ := store.GetInstance(c, in.UUID); got.VMState != in.VMState || got.Fault != nil {
			t.Errorf("instance %+v was changed by the check", got)
		}
	}
	if v := testutil.ToFloat64(m.met.buildTimeouts.WithLabelValues(sweepError)); v != 2 {
		t.Fatalf("build_timeouts{error} = %v, want 2", v)
	}

	// A young build is left alone.
	young := mk(host, states.VMBuilding, states.TaskScheduling)
	clk2 := clocktest.New(time.Now().Add(59 * time.Minute))
	m.clock = clk2
	if err := m.CheckInstanceBuildTime(c); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.GetInstance(c, young.UUID); got.VMState != states.VMBuilding {
		t.Fatalf("a build younger than the timeout was failed: %+v", got)
	}
}

// The task is registered only with a timeout, at half of it when that is
// below the periodic default.
func TestBuildTimeCheckRegistration(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		want    bool
	}{{0, false}, {10 * time.Second, true}} {
		m, err := New(Options{Host: host, Driver: fake.New(fake.Options{Logger: quiet}), Store: computedb.NewMem(), Logger: quiet, InstanceBuildTimeout: tc.timeout})
		if err != nil {
			t.Fatal(err)
		}
		var ts periodic.Tasks
		m.PeriodicTasks(&ts)
		r, err := ts.Setup(prometheus.NewPedanticRegistry(), periodic.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		has := false
		for _, n := range r.TaskNames() {
			has = has || n == "_check_instance_build_time"
		}
		if has != tc.want {
			t.Errorf("timeout %s: task registered = %v, want %v (%v)", tc.timeout, has, tc.want, r.TaskNames())
		}
	}
	if got := buildTimeCheckSpacing(10 * time.Second); got != 5*time.Second {
		t.Fatalf("spacing for 10s = %s", got)
	}
	if got := buildTimeCheckSpacing(3600 * time.Second); got != periodic.DefaultSpacing {
		t.Fatalf("spacing for 1h = %s", got)
	}
}
