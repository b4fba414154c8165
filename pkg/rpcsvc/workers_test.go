package rpcsvc

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gate is an endpoint whose Block handler waits until released, counting
// how many run at once.
type gate struct {
	running, peak, done atomic.Int64
	release             chan struct{}
}

type BlockArgs struct {
	N int `json:"n"`
}

func (g *gate) Block(ctx context.Context, _ BlockArgs) error {
	now := g.running.Add(1)
	for {
		p := g.peak.Load()
		if now <= p || g.peak.CompareAndSwap(p, now) {
			break
		}
	}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	g.running.Add(-1)
	g.done.Add(1)
	return nil
}

// TestWorkersStartOnDemandUpToThePoolSize: a started server that has had no
// message holds no handler goroutine; 20 casts whose handlers all block run
// exactly executor_thread_pool_size (8) at a time, none waiting while the
// pool has room, and all 20 finish once released.
func TestWorkersStartOnDemandUpToThePoolSize(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		g := &gate{release: make(chan struct{})}
		s := e.server(t, tr, "host1", g)
		s.pool.mu.Lock()
		running := s.pool.running
		s.pool.mu.Unlock()
		if running != 0 {
			t.Fatalf("%d workers before any message, want 0", running)
		}
		cl := e.client(t, tr, ClientConfig{Target: Target{Version: "1.3"}})
		for i := range 20 {
			if err := cl.Cast(bg(t), "block", BlockArgs{N: i}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 10*time.Second, "8 handlers running at once", func() bool { return g.running.Load() == 8 })
		time.Sleep(100 * time.Millisecond) // no ninth may start
		if p := g.peak.Load(); p != 8 {
			t.Fatalf("peak concurrency %d, want executor_thread_pool_size 8", p)
		}
		close(g.release)
		waitFor(t, 10*time.Second, "all 20 handled", func() bool { return g.done.Load() == 20 })
	})
}

// TestWorkerPoolBookkeeping drives the pool's
// bookkeeping directly through every interleaving the server produces: a
// delivery is always matched with a worker or the backlog, and a worker
// retires only when nobody counts on it.
func TestWorkerPoolBookkeeping(t *testing.T) {
	p := workerPool{size: 2}
	var wg sync.WaitGroup // the workers a spawn counts; none runs here
	if spawn, ok := p.reserve(&wg); !spawn || !ok {
		t.Fatal("first delivery must start a worker")
	}
	if spawn, ok := p.reserve(&wg); !spawn || !ok {
		t.Fatal("second delivery must start a second worker")
	}
	if spawn, ok := p.reserve(&wg); spawn || !ok || p.backlog != 1 {
		t.Fatalf("third delivery: spawn %v ok %v backlog %d, want the backlog", spawn, ok, p.backlog)
	}
	if !p.finished() {
		t.Fatal("a worker finishing with a backlog must take it")
	}
	if p.finished() || p.idle != 1 {
		t.Fatalf("a worker finishing without backlog must be idle (idle %d)", p.idle)
	}
	if spawn, ok := p.reserve(&wg); spawn || !ok || p.idle != 0 {
		t.Fatalf("a delivery with an idle worker: spawn %v idle %d, want it reserved", spawn, p.idle)
	}
	if p.retire() {
		t.Fatal("a worker a delivery counts on retired")
	}
	if p.finished() || !p.retire() || p.running != 1 {
		t.Fatalf("an idle worker must retire (running %d)", p.running)
	}
	p.close()
	if _, ok := p.reserve(&wg); ok {
		t.Fatal("a closed pool accepted a delivery")
	}
}

// TestIdleWorkersRetire: the workers a burst started exit after the idle
// timeout, and the server serves again afterwards.
func TestIdleWorkersRetire(t *testing.T) {
	old := workerIdleTimeout
	workerIdleTimeout = 200 * time.Millisecond
	t.Cleanup(func() { workerIdleTimeout = old })
	e := &env{kind: "memory", url: "memory://retire", exchange: "retire_x", topic: "retire_t", reg: prometheus.NewPedanticRegistry()}
	tr := e.open(t)
	rec := &echoCounter{}
	s := e.server(t, tr, "host1", rec)
	cl := e.client(t, tr, ClientConfig{Target: Target{Version: "1.3"}})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out EchoArgs
			if err := cl.Call(bg(t), "echo", EchoArgs{}, &out); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 5*time.Second, "every worker retired", func() bool {
		s.pool.mu.Lock()
		defer s.pool.mu.Unlock()
		return s.pool.running == 0 && s.pool.idle == 0
	})
	var out EchoArgs
	if err := cl.Call(bg(t), "echo", EchoArgs{}, &out); err != nil {
		t.Fatalf("call after the workers retired: %v", err)
	}
}

type echoCounter struct{}

func (*echoCounter) Echo(_ context.Context, a EchoArgs) (EchoArgs, error) { return a, nil }
