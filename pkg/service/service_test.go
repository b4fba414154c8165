package service

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/memstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service/periodic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder collects the order in which the Service calls its collaborators.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

type recordingManager struct {
	BaseManager
	rec          *recorder
	store        registry.Store
	initHost     func(ctx context.Context) error
	postStartErr error
	periodicRan  chan struct{}
	once         sync.Once
}

func (m *recordingManager) InitHost(ctx context.Context) error {
	m.rec.add("init_host")
	if m.initHost != nil {
		return m.initHost(ctx)
	}
	return nil
}

func (m *recordingManager) PreStartHook(ctx context.Context, svc registry.Service) error {
	// The row must exist by now.
	if _, err := m.store.Get(ctx, svc.ID); err != nil {
		m.rec.add("pre_start:no-row")
		return err
	}
	m.rec.add("pre_start")
	return nil
}

func (m *recordingManager) PostStartHook(context.Context) error {
	m.rec.add("post_start")
	return m.postStartErr
}

func (m *recordingManager) Shutdown(context.Context) error {
	m.rec.add("manager_shutdown")
	return nil
}

func (m *recordingManager) PeriodicTasks(ts *periodic.Tasks) {
	ts.Add("tick", func(context.Context) error {
		m.once.Do(func() {
			m.rec.add("periodic")
			close(m.periodicRan)
		})
		return nil
	}, periodic.RunImmediately(), periodic.Spacing(time.Hour))
}

type recordingMembership struct{ rec *recorder }

func (m recordingMembership) Stop(context.Context) error {
	m.rec.add("heartbeats_stopped")
	return nil
}

func newTestService(t *testing.T, m *recordingManager, store registry.Store, rec *recorder) *Service {
	t.Helper()
	popts := periodic.DefaultOptions()
	popts.FuzzyDelay = 0
	svc, err := Create(Options{
		Host: "node1", Binary: "nova-compute", Manager: m, Registry: store, Version: 66,
		Join: func(ctx context.Context, row registry.Service) (Membership, error) {
			rec.add("join")
			return recordingMembership{rec: rec}, nil
		},
		Periodic: popts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestCreateDefaults(t *testing.T) {
	svc, err := Create(Options{Binary: "nova-testtopic", Manager: &BaseManager{}, Registry: memstore.New(clock.Real)})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Topic() != "testtopic" || svc.Host() == "" {
		t.Fatalf("topic %q host %q", svc.Topic(), svc.Host())
	}
	if _, err := Create(Options{Binary: "nova-nothing", Registry: memstore.New(clock.Real)}); err == nil ||
		!strings.Contains(err.Error(), `"nothing"`) || !strings.Contains(err.Error(), "Options.Manager is required") {
		t.Fatalf("no manager error = %v", err)
	}
	if _, err := Create(Options{Binary: "nova-testtopic", Manager: &BaseManager{}}); err == nil {
		t.Fatal("Create without a registry succeeded")
	}
}

func TestStartFollowsNovaOrderAndStopReversesIt(t *testing.T) {
	rec := &recorder{}
	store := memstore.New(clock.Real)
	m := &recordingManager{rec: rec, store: store, periodicRan: make(chan struct{})}
	svc := newTestService(t, m, store, rec)
	ctx := context.Background()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.periodicRan:
	case <-time.After(5 * time.Second):
		t.Fatal("periodic task did not run")
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_ = svc.Wait(context.Background())
	got := strings.Join(rec.list(), ",")
	want := "init_host,pre_start,post_start,join,periodic,manager_shutdown,heartbeats_stopped"
	if got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
	row := svc.Row()
	if row.Host != "node1" || row.Binary != "nova-compute" || row.Topic != "compute" || row.Version != 66 {
		t.Fatalf("row = %+v", row)
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestRestartReusesTheRowAndUpdatesItsVersion(t *testing.T) {
	rec := &recorder{}
	store := memstore.New(clock.Real)
	ctx := context.Background()
	first := newTestService(t, &recordingManager{rec: rec, store: store, periodicRan: make(chan struct{})}, store, rec)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_ = first.Stop(ctx)

	second := newTestService(t, &recordingManager{rec: rec, store: store, periodicRan: make(chan struct{})}, store, rec)
	second.opts.Version = 67
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer second.Stop(ctx)
	if second.Row().ID != first.Row().ID {
		t.Fatalf("restart created row %d, want %d", second.Row().ID, first.Row().ID)
	}
	got, _ := store.Get(ctx, first.Row().ID)
	if got.Version != 67 {
		t.Fatalf("version = %d, want 67", got.Version)
	}
	rows, _, _ := store.List(ctx, registry.Filter{})
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
}

// A SIGTERM while the manager initialises the host cancels Start's context:
// Start returns promptly, nothing further happens, and Stop is harmless.
func TestCancelDuringInitHostStopsCleanly(t *testing.T) {
	rec := &recorder{}
	store := memstore.New(clock.Real)
	entered := make(chan struct{})
	m := &recordingManager{rec: rec, store: store, periodicRan: make(chan struct{}),
		initHost: func(ctx context.Context) error {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		}}
	svc := newTestService(t, m, store, rec)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Start(ctx) }()
	<-entered
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "init host") {
			t.Fatalf("Start error = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after cancellation")
	}
	if err := svc.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after interrupted start: %v", err)
	}
	_ = svc.Wait(context.Background())
	if got := strings.Join(rec.list(), ","); got != "init_host" {
		t.Fatalf("events = %s", got)
	}
	rows, _, _ := store.List(context.Background(), registry.Filter{})
	if len(rows) != 0 {
		t.Fatalf("a row was created after the interrupted init host: %+v", rows)
	}
}

func TestFailedStepRollsBackWhatStarted(t *testing.T) {
	rec := &recorder{}
	store := memstore.New(clock.Real)
	m := &recordingManager{rec: rec, store: store, periodicRan: make(chan struct{}), postStartErr: errors.New("boom")}
	svc := newTestService(t, m, store, rec)
	err := svc.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "post-start hook: boom") {
		t.Fatalf("Start error = %v", err)
	}
	_ = svc.Wait(context.Background())
	if got := strings.Join(rec.list(), ","); got != "init_host,pre_start,post_start" {
		t.Fatalf("events = %s (no join or periodic after a failed hook)", got)
	}
}

func TestBaseAPI(t *testing.T) {
	b := &BaseAPI{ServiceName: "compute"}
	r, err := b.Ping(context.Background(), PingArgs{Arg: "x"})
	if err != nil || r.Service != "compute" || r.Arg != "x" {
		t.Fatalf("ping = %+v, %v", r, err)
	}
	if p, _ := b.GetBackdoorPort(context.Background()); p != nil {
		t.Fatalf("backdoor port = %v, want nil", *p)
	}
	b.BackdoorPort = 4444
	if p, _ := b.GetBackdoorPort(context.Background()); p == nil || *p != 4444 {
		t.Fatal("backdoor port not reported")
	}
}

// Over a real transport: baseapi.ping answers once Start returns, and after
// Stop nothing consumes the host's queue any more.
func TestPingOverRPCAndStop(t *testing.T) {
	ctx := context.Background()
	tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: "memory://service-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(ctx)
	rec := &recorder{}
	store := memstore.New(clock.Real)
	m := &recordingManager{rec: rec, store: store, periodicRan: make(chan struct{})}
	svc := newTestService(t, m, store, rec)
	svc.opts.Transport = tr
	svc.opts.BackdoorPort = 4711
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: "compute", Namespace: BaseAPINamespace, Version: "1.1"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var pong PingResult
	if err := cl.Prepare(rpcsvc.CallOptions{Server: "node1"}).Call(ctx, "ping", PingArgs{Arg: "hello"}, &pong); err != nil {
		t.Fatal(err)
	}
	if pong.Service != "compute" || pong.Arg != "hello" {
		t.Fatalf("pong = %+v", pong)
	}
	var port *int
	if err := cl.Prepare(rpcsvc.CallOptions{Server: "node1"}).Call(ctx, "get_backdoor_port", nil, &port); err != nil || port == nil || *port != 4711 {
		t.Fatalf("get_backdoor_port = %v, %v", port, err)
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	short := cl.Prepare(rpcsvc.CallOptions{Server: "node1", Timeout: 300 * time.Millisecond})
	if err := short.Call(ctx, "ping", PingArgs{Arg: "late"}, &pong); !errors.Is(err, rpcsvc.ErrTimeout) {
		t.Fatalf("ping after stop: %v, want a timeout", err)
	}
}
