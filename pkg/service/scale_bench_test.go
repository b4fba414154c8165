package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/internal/amqpbaseline"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/service"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/testenv/rabbitnode"
)

// scaleServices is how many services BenchmarkScale runs; SCALE_SERVICES
// overrides it (a quick look with 100, a bigger one with 2000).
func scaleServices(b *testing.B) int {
	if v := os.Getenv("SCALE_SERVICES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("SCALE_SERVICES=%q: want a positive integer", v)
		}
		return n
	}
	return 1000
}

// pokeManager is a compute-like manager whose one RPC method counts fanout
// casts.
type pokeManager struct {
	service.BaseManager
	got *atomic.Int64
	all chan struct{} // receives once per cast that reached every service
	n   int64
}

type pokeEndpoint struct{ m *pokeManager }

// Poke is the fanout cast's method.
func (e *pokeEndpoint) Poke(context.Context) error {
	if e.m.got.Add(1)%e.m.n == 0 {
		e.m.all <- struct{}{}
	}
	return nil
}

func (m *pokeManager) Endpoints() []rpcsvc.Endpoint {
	return []rpcsvc.Endpoint{{Version: "1.0", Impl: &pokeEndpoint{m}}}
}

type heartbeat struct{ hb *servicegroup.Heartbeat }

func (h heartbeat) Stop(context.Context) error { h.hb.Stop(); return nil }

// BenchmarkScale runs 1,000 RPC services in one process on one RabbitMQ
// node of its own (so its memory is theirs alone), as 1,000 nova-computes
// would be: each its own Transport (connection), its topic, topic.host and
// fanout queues, and its heartbeat every report_interval (10 s) into one
// Postgres services table. It measures:
//
//   - fanout_ms: a fanout cast from one client until all 1,000 handlers ran
//     (p50 over b.N casts; fanout_max_ms the slowest), beside raw_fanout_ms:
//     1,000 raw amqp091-go connections, each an exclusive queue bound to one
//     fanout exchange, in the same run (ratio_vs_raw);
//   - start_s: starting all 1,000 (16 at a time);
//   - heap_KiB/svc and goroutines/svc: this process's live heap and
//     goroutines per service, after a GC (raw_heap_KiB/conn for the raw
//     consumers);
//   - broker_KiB/svc: the node's memory (erlang:memory(total)) per service,
//     and broker_KiB/raw_conn for the raw consumers.
//
// At the end every service row must be up by its heartbeats (a missed
// heartbeat fails the benchmark), so heartbeats are proven to keep pace.
func BenchmarkScale(b *testing.B) {
	n := scaleServices(b)
	// One node for the raw consumers and one for gonova's services, both
	// running through the timed part, so each node's memory is one
	// population's and the two fanouts are timed on the same machine.
	rawNode := rabbitnode.Start(b, rabbitnode.Options{})
	node := rabbitnode.Start(b, rabbitnode.Options{})
	store := pgstore.New(pgtest.NewPool(b))
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()

	rawBase, brokerBase := brokerMemory(b, rawNode), brokerMemory(b, node)
	heap0 := liveMemory()
	raw, err := amqpbaseline.NewFanout(ctx, rawNode.URL(), "raw_fanout", n, 16)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	heapRaw := liveMemory()
	brokerRaw := brokerMemory(b, rawNode)
	rawTimes := make([]time.Duration, 0, b.N)
	fanoutTimes := make([]time.Duration, 0, b.N)
	runRaw := func() {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		d, err := raw.Once(cctx)
		if err != nil {
			b.Fatal(err)
		}
		rawTimes = append(rawTimes, d)
	}

	// gonova's services.
	heap1 := heapRaw
	got := &atomic.Int64{}
	all := make(chan struct{}, 1)
	svcs := make([]*service.Service, n)
	trs := make([]*rpcsvc.Transport, n)
	t0 := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: node.TransportURL(), Logger: quiet, Registerer: reg})
			if err != nil {
				errs <- err
				return
			}
			trs[i] = tr
			host := fmt.Sprintf("compute-%04d", i)
			svc, err := service.Create(service.Options{
				Host: host, Binary: "nova-compute", Topic: "compute",
				Manager:   &pokeManager{got: got, all: all, n: int64(n)},
				Registry:  store,
				Transport: tr,
				Join: func(ctx context.Context, row registry.Service) (service.Membership, error) {
					hb, err := servicegroup.Join(store, row, servicegroup.Options{Registerer: reg, Logger: quiet})
					if err != nil {
						return nil, err
					}
					return heartbeat{hb}, nil
				},
				Logger: quiet, Registerer: reg,
			})
			if err == nil {
				err = svc.Start(ctx)
			}
			if err != nil {
				errs <- fmt.Errorf("%s: %w", host, err)
				return
			}
			svcs[i] = svc
		}()
	}
	wg.Wait()
	started := time.Since(t0)
	b.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if svcs[i] != nil {
					_ = svcs[i].Stop(stopCtx)
				}
				if trs[i] != nil {
					_ = trs[i].Close(stopCtx)
				}
			}()
		}
		wg.Wait()
	})
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	heap2 := liveMemory()
	brokerSvc := brokerMemory(b, node)

	ctr, err := rpcsvc.Open(ctx, rpcsvc.Options{TransportURL: node.TransportURL(), Logger: quiet, Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	defer ctr.Close(ctx)
	cl, err := rpcsvc.NewClient(ctr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: "compute", Version: "1.0", Fanout: true}})
	if err != nil {
		b.Fatal(err)
	}
	cast := func() time.Duration {
		t0 := time.Now()
		if err := cl.Cast(ctx, "poke", nil); err != nil {
			b.Fatal(err)
		}
		select {
		case <-all:
			return time.Since(t0)
		case <-time.After(60 * time.Second):
			b.Fatalf("fanout reached %d of %d services in 60 s", got.Load()%int64(n), n)
			return 0
		}
	}
	cast() // warm
	runRaw()
	rawTimes = rawTimes[:0]
	// Interleaved, so both see the same machine.
	b.ResetTimer()
	for range b.N {
		fanoutTimes = append(fanoutTimes, cast())
		runRaw()
	}
	b.StopTimer()

	// Every service is up by its own heartbeats: each has reported at
	// least once, within its first delay plus one report_interval (and
	// some slack for a loaded machine) after the last one started.
	deadline := t0.Add(started + servicegroup.DefaultInitialDelay + servicegroup.DefaultReportInterval + 5*time.Second)
	for {
		rows, now, err := store.List(ctx, registry.Filter{Binary: "nova-compute"})
		if err != nil {
			b.Fatal(err)
		}
		up := 0
		for _, r := range rows {
			if servicegroup.IsUp(r, now, servicegroup.DefaultServiceDownTime) && r.ReportCount > 0 {
				up++
			}
		}
		if len(rows) == n && up == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d service rows, %d up by their heartbeats %s after the last start; want %d", len(rows), up, time.Since(t0.Add(started)).Round(time.Second), n)
		}
		time.Sleep(500 * time.Millisecond)
	}

	p50, pmax := quantiles(fanoutTimes)
	r50, _ := quantiles(rawTimes)
	b.ReportMetric(ms(p50), "fanout_ms")
	b.ReportMetric(ms(pmax), "fanout_max_ms")
	b.ReportMetric(ms(r50), "raw_fanout_ms")
	b.ReportMetric(float64(r50)/float64(p50), "ratio_vs_raw")
	b.ReportMetric(started.Seconds(), "start_s")

	b.ReportMetric(kibPer(heap2.heap-heap1.heap, n), "heap_KiB/svc")
	b.ReportMetric(kibPer(heap2.stack-heap1.stack, n), "stack_KiB/svc")
	b.ReportMetric(kibPer(heapRaw.heap-heap0.heap, n), "raw_heap_KiB/conn")
	b.ReportMetric(kibPer(heapRaw.stack-heap0.stack, n), "raw_stack_KiB/conn")
	b.ReportMetric(float64(heap2.goroutines-heap1.goroutines)/float64(n), "goroutines/svc")
	b.ReportMetric(kibPer(brokerSvc-brokerBase, n), "broker_KiB/svc")
	b.ReportMetric(kibPer(brokerRaw-rawBase, n), "broker_KiB/raw_conn")
	b.ReportMetric(float64(queues(b, node))/float64(n), "queues/svc")
	b.ReportMetric(float64(connections(b, node))/float64(n), "conns/svc")
	b.ReportMetric(0, "ns/op")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantiles(ds []time.Duration) (p50, pmax time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)-1]
}

// memory is this process's live heap and goroutine stacks (bytes) and its
// goroutine count.
type memory struct{ heap, stack, goroutines int64 }

// liveMemory reads memory after a collection.
func liveMemory() memory {
	runtime.GC()
	runtime.GC() // sync.Pools are emptied over two
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{int64(m.HeapInuse), int64(m.StackInuse), int64(runtime.NumGoroutine())}
}

func kibPer(bytes int64, n int) float64 { return float64(bytes) / 1024 / float64(n) }

// brokerMemory is the node's resident memory (VmRSS of its beam process),
// bytes. erlang:memory(total) is not used: it counts the binary allocator's
// reserved carriers (about 4 MB per connection's socket buffers, mostly
// never touched), several times what the node really holds.
func brokerMemory(b *testing.B, node *rabbitnode.Node) int64 {
	pid := strings.Trim(strings.TrimSpace(node.Ctl(b, "eval", "erlang:garbage_collect(), os:getpid().")), `"`)
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatalf("broker pid %q: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS for the broker")
	return 0
}

func queues(b *testing.B, node *rabbitnode.Node) int {
	return countLines(node.Ctl(b, "list_queues", "-q", "--no-table-headers", "name"))
}

func connections(b *testing.B, node *rabbitnode.Node) int {
	return countLines(node.Ctl(b, "list_connections", "-q", "--no-table-headers", "pid"))
}

func countLines(s string) int {
	c := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			c++
		}
	}
	return c
}
