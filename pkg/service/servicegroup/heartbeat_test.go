package servicegroup_test

import (
	"context"

	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	fc    *clocktest.Fake
	store *faultyStore
	reg   *prometheus.Registry
	logs  *logBuffer
	svc   registry.Service
	hb    *servicegroup.Heartbeat
}

// newFixture joins a nova-compute service on a memstore under a fake clock,
// with nova's default 5 s initial delay and a 10 s interval, no jitter.
func newFixture(t *testing.T, mod func(*servicegroup.Options)) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	fc := clocktest.New(clocktest.Epoch)
	fs := &faultyStore{Store: memstore.New(fc), hangOn: make(chan struct{})}
	svc, _, err := registry.FindOrCreate(ctx, fs, registry.NewService{Host: "cmp1", Binary: registry.BinaryCompute, Topic: "compute"}, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLogger(t)
	reg := prometheus.NewPedanticRegistry()
	opts := servicegroup.Options{
		ReportInterval: 10 * time.Second, Registerer: reg, Clock: fc, Jitter: servicegroup.ExactInterval, Logger: log,
	}
	if mod != nil {
		mod(&opts)
	}
	hb, err := servicegroup.Join(fs, svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hb.Stop)
	f := &fixture{t: t, ctx: ctx, fc: fc, store: fs, reg: reg, logs: logs, svc: svc, hb: hb}
	f.waitArmed()
	return f
}

// waitArmed waits until the loop is idle, waiting on its timer.
func (f *fixture) waitArmed() {
	f.t.Helper()
	if err := f.fc.WaitForTimers(f.ctx, 1); err != nil {
		f.t.Fatalf("the heartbeat loop never armed its timer: %v", err)
	}
}

// tick moves the fake clock to the next report and waits until it is done.
func (f *fixture) tick() {
	f.t.Helper()
	d, ok := f.fc.NextTimer()
	if !ok {
		f.t.Fatal("no timer armed")
	}
	f.fc.Advance(d)
	f.waitArmed()
}

func (f *fixture) row(id int64) registry.Service {
	f.t.Helper()
	svc, err := f.store.Get(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

func (f *fixture) count(outcome string) float64 {
	return gatherCounter(f.t, f.reg, outcome)
}

func TestReportsAfterInitialDelayThenEveryInterval(t *testing.T) {
	f := newFixture(t, nil)
	if d, _ := f.fc.NextTimer(); d != servicegroup.DefaultInitialDelay {
		t.Fatalf("first wait = %v, want nova's initial delay %v", d, servicegroup.DefaultInitialDelay)
	}
	if got := f.row(f.svc.ID).ReportCount; got != 0 {
		t.Fatalf("report_count = %d before the initial delay passed", got)
	}
	for i := int64(1); i <= 3; i++ {
		f.tick()
		row := f.row(f.svc.ID)
		if row.ReportCount != i || row.LastSeenUp == nil || !row.LastSeenUp.Equal(f.fc.Now()) {
			t.Fatalf("after report %d: %+v; want count %d stamped at the store clock %v", i, row, i, f.fc.Now())
		}
		if d, _ := f.fc.NextTimer(); d != 10*time.Second {
			t.Fatalf("wait after report %d = %v, want report_interval 10s", i, d)
		}
	}
	if f.count("success") != 3 || f.count("failure") != 0 {
		t.Errorf("reports_total success=%v failure=%v, want 3 and 0", f.count("success"), f.count("failure"))
	}
}

func TestJitterChoosesTheWait(t *testing.T) {
	f := newFixture(t, func(o *servicegroup.Options) {
		o.InitialDelay = -1
		o.Jitter = func(d time.Duration) time.Duration { return d + 3*time.Second }
	})
	// InitialDelay < 0: the first report came at once.
	if got := f.row(f.svc.ID).ReportCount; got != 1 {
		t.Fatalf("report_count = %d, want 1 report at once", got)
	}
	if d, _ := f.fc.NextTimer(); d != 13*time.Second {
		t.Fatalf("wait = %v, want the jitter function's 13s", d)
	}
}

func TestDefaultJitterStaysNearInterval(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := servicegroup.DefaultJitter(10 * time.Second)
		if d < 9500*time.Millisecond || d > 10500*time.Millisecond {
			t.Fatalf("DefaultJitter(10s) = %v, outside ±5%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("DefaultJitter gave only %d distinct values in 1000 draws", len(seen))
	}
	if servicegroup.DefaultJitter(0) != 0 || servicegroup.ExactInterval(time.Second) != time.Second {
		t.Error("DefaultJitter(0) or ExactInterval wrong")
	}
}

func TestFailuresLogLostOnceAndRecoveredOnce(t *testing.T) {
	f := newFixture(t, nil)
	f.tick()
	f.store.set("error")
	for range 4 {
		f.tick()
	}
	if n := f.logs.Count("lost connection"); n != 1 {
		t.Fatalf("%d \"lost connection\" records after 4 failures, want 1", n)
	}
	if n := f.logs.Count("recovered"); n != 0 {
		t.Fatalf("\"recovered\" logged before any success")
	}
	f.store.set("")
	f.tick()
	f.tick()
	if n := f.logs.Count("recovered"); n != 1 {
		t.Fatalf("%d \"recovered\" records, want 1", n)
	}
	if !strings.Contains(f.logs.String(), "failed_reports=4") {
		t.Errorf("recovery record does not say how many reports failed:\n%s", f.logs.String())
	}
	if got := f.row(f.svc.ID).ReportCount; got != 3 {
		t.Errorf("report_count = %d, want 3 (1 before, 2 after the outage)", got)
	}
	if f.count("success") != 3 || f.count("failure") != 4 {
		t.Errorf("reports_total success=%v failure=%v, want 3 and 4", f.count("success"), f.count("failure"))
	}
	// A second outage is a new loss and a new recovery.
	f.store.set("error")
	f.tick()
	f.store.set("")
	f.tick()
	if f.logs.Count("lost connection") != 2 || f.logs.Count("recovered") != 2 {
		t.Errorf("second outage: lost=%d recovered=%d, want 2 and 2", f.logs.Count("lost connection"), f.logs.Count("recovered"))
	}
}

func TestPanicInReportDoesNotKillTheLoop(t *testing.T) {
	f := newFixture(t, nil)
	f.store.set("panic")
	f.tick()
	f.tick()
	if n := f.logs.Count(`msg="service status report panicked"`); n != 2 {
		t.Fatalf("%d panic records, want 2", n)
	}
	if !strings.Contains(f.logs.String(), "injected panic in Report") || !strings.Contains(f.logs.String(), "goroutine") {
		t.Errorf("panic record lacks the value or the stack:\n%s", f.logs.String())
	}
	f.store.set("")
	f.tick()
	if got := f.row(f.svc.ID).ReportCount; got != 1 {
		t.Fatalf("report_count = %d after the panics, want the loop to report again", got)
	}
	if f.logs.Count("lost connection") != 1 || f.logs.Count("recovered") != 1 || f.count("failure") != 2 {
		t.Errorf("panics: lost=%d recovered=%d failures=%v, want 1, 1, 2",
			f.logs.Count("lost connection"), f.logs.Count("recovered"), f.count("failure"))
	}
}

func TestStopCancelsAHangingReport(t *testing.T) {
	f := newFixture(t, func(o *servicegroup.Options) { o.ReportTimeout = time.Hour })
	f.store.set("hang")
	d, _ := f.fc.NextTimer()
	f.fc.Advance(d)
	<-f.store.hangOn
	start := time.Now()
	f.hb.Stop()
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Stop took %v with a report hanging", el)
	}
	f.hb.Stop() // idempotent
	select {
	case <-f.hb.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if f.count("failure") != 0 {
		t.Errorf("a report cancelled by Stop was counted as a failure")
	}
	if f.logs.Count("lost connection") != 0 {
		t.Errorf("Stop logged a lost connection")
	}
}

func TestStopWhileWaiting(t *testing.T) {
	f := newFixture(t, nil)
	done := make(chan struct{})
	go func() {
		f.hb.Stop()
		f.hb.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return while the loop waited for its timer")
	}
	if got := f.row(f.svc.ID).ReportCount; got != 0 {
		t.Errorf("report_count = %d, want no report after Stop", got)
	}
}

func TestDeletedRowIsRecreated(t *testing.T) {
	f := newFixture(t, func(o *servicegroup.Options) {
		o.CreateOptions = registry.CreateOptions{DisableNewServices: true}
	})
	f.tick()
	if err := f.store.Delete(f.ctx, f.svc.ID); err != nil {
		t.Fatal(err)
	}
	f.tick()
	newID := f.hb.ServiceID()
	if newID == f.svc.ID {
		t.Fatal("ServiceID did not change after the row was re-created")
	}
	row := f.row(newID)
	if row.ReportCount != 1 || row.Host != "cmp1" || row.Binary != registry.BinaryCompute || row.Topic != "compute" {
		t.Errorf("re-created row %+v, want the same identity with one report", row)
	}
	if !row.Disabled || row.DisabledReason != registry.NewServiceDisabledReason {
		t.Errorf("re-created nova-compute under enable_new_services=false is %+v, want disabled", row)
	}
	if f.logs.Count("re-created it") != 1 || f.logs.Count("lost connection") != 0 {
		t.Errorf("want one re-creation record and no lost connection:\n%s", f.logs.String())
	}
	f.tick()
	if got := f.row(newID).ReportCount; got != 2 {
		t.Errorf("report_count of the new row = %d, want 2", got)
	}
	if got := testutil.ToFloat64(mustRecreated(t, f.reg)); got != 1 {
		t.Errorf("records_recreated_total = %v, want 1", got)
	}
}

func mustRecreated(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gonova_servicegroup_records_recreated_total" && len(mf.GetMetric()) == 1 {
			v := mf.GetMetric()[0].GetCounter().GetValue()
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return v })
		}
	}
	t.Fatal("no records_recreated_total series")
	return nil
}

func TestMetricsExistAtZeroAndCount(t *testing.T) {
	f := newFixture(t, nil)
	const head = `
# HELP gonova_servicegroup_records_recreated_total Service records re-created because they were deleted while the service ran.
# TYPE gonova_servicegroup_records_recreated_total counter
gonova_servicegroup_records_recreated_total{binary="nova-compute"} 0
# HELP gonova_servicegroup_reports_total Heartbeat reports to the service registry, by binary and outcome (success, failure).
# TYPE gonova_servicegroup_reports_total counter
`
	const lastHelp = `
# HELP gonova_servicegroup_last_success_timestamp_seconds Unix time of the last successful heartbeat report; 0 before the first.
# TYPE gonova_servicegroup_last_success_timestamp_seconds gauge
`
	names := []string{"gonova_servicegroup_reports_total", "gonova_servicegroup_records_recreated_total", "gonova_servicegroup_last_success_timestamp_seconds"}
	want := head + `gonova_servicegroup_reports_total{binary="nova-compute",outcome="failure"} 0
gonova_servicegroup_reports_total{binary="nova-compute",outcome="success"} 0
` + lastHelp + `gonova_servicegroup_last_success_timestamp_seconds{binary="nova-compute"} 0
`
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), names...); err != nil {
		t.Fatalf("before the first report: %v", err)
	}
	f.tick()
	f.store.set("error")
	f.tick()
	f.store.set("")
	f.tick()
	want = head + `gonova_servicegroup_reports_total{binary="nova-compute",outcome="failure"} 1
gonova_servicegroup_reports_total{binary="nova-compute",outcome="success"} 2
` + lastHelp + `gonova_servicegroup_last_success_timestamp_seconds{binary="nova-compute"} 1.767323070e+09
`
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), names...); err != nil {
		t.Fatalf("after 2 successes and a failure: %v", err)
	}
	if n := testutil.CollectAndCount(f.reg, "gonova_servicegroup_report_duration_seconds"); n != 1 {
		t.Errorf("report_duration_seconds series = %d, want 1", n)
	}
	if problems, err := testutil.GatherAndLint(f.reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

// Two heartbeats in one process share the registerer.
func TestTwoHeartbeatsShareARegisterer(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	store := memstore.New(nil)
	for _, b := range []string{"nova-compute", "nova-scheduler"} {
		svc, _, err := registry.FindOrCreate(context.Background(), store, registry.NewService{Host: "h", Binary: b}, registry.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hb, err := servicegroup.Join(store, svc, servicegroup.Options{Registerer: reg, InitialDelay: time.Hour})
		if err != nil {
			t.Fatalf("Join %s: %v", b, err)
		}
		t.Cleanup(hb.Stop)
	}
	if n := testutil.CollectAndCount(reg, "gonova_servicegroup_reports_total"); n != 4 {
		t.Errorf("reports_total series = %d, want 2 binaries x 2 outcomes", n)
	}
}

func TestJoinRejectsBadInput(t *testing.T) {
	store := memstore.New(nil)
	good := registry.Service{ID: 1, Host: "h", Binary: "nova-compute"}
	reg := prometheus.NewRegistry()
	cases := []struct {
		name  string
		store registry.Store
		svc   registry.Service
		opts  servicegroup.Options
		want  string
	}{
		{"nil store", nil, good, servicegroup.Options{Registerer: reg}, "store is nil"},
		{"no id", store, registry.Service{Host: "h", Binary: "b"}, servicegroup.Options{Registerer: reg}, "service id 0"},
		{"no host", store, registry.Service{ID: 1, Binary: "b"}, servicegroup.Options{Registerer: reg}, "host is empty"},
		{"no registerer", store, good, servicegroup.Options{}, "Registerer is nil"},
		{"negative interval", store, good, servicegroup.Options{Registerer: reg, ReportInterval: -time.Second}, "report_interval"},
		{"negative timeout", store, good, servicegroup.Options{Registerer: reg, ReportTimeout: -time.Second}, "ReportTimeout"},
	}
	for _, c := range cases {
		hb, err := servicegroup.Join(c.store, c.svc, c.opts)
		if err == nil {
			hb.Stop()
			t.Errorf("%s: Join succeeded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}

}
