package rpcsvc

import (
	"sync"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// workerIdleTimeout (a variable for tests) is how long a handler goroutine waits for work before it
// exits. Workers are started when deliveries need them, up to
// executor_thread_pool_size, as oslo's executor spawns its green threads:
// an idle server holds no handler goroutines, so a process with many
// servers (or a quiet compute) does not keep 64 parked stacks per server.
var workerIdleTimeout = 30 * time.Second

// workerPool is the bookkeeping behind the lazy workers. Every delivery
// handed to the work channel is matched, under mu, with exactly one of: an
// idle worker (idle--), a new worker (running++), or the backlog
// (backlog++) that the next worker to finish takes. So a delivery never
// waits while the pool has room, and no worker exits while a delivery
// counts on it.
type workerPool struct {
	mu      sync.Mutex
	size    int  // executor_thread_pool_size
	running int  // live workers
	idle    int  // waiting workers no delivery counts on
	backlog int  // deliveries waiting for a busy worker to finish
	closed  bool // Stop began: no new workers
	// idleTimeout is workerIdleTimeout as it was at Start.
	idleTimeout time.Duration
}

// reserve matches one delivery about to be queued; it reports whether the
// caller must start a worker for it (counted in wg here, under the lock, so
// that no Add can follow close and race Stop's Wait), and false in ok once
// the pool is closed (the delivery goes back to the broker).
func (p *workerPool) reserve(wg *sync.WaitGroup) (spawn, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return false, false
	case p.idle > 0:
		p.idle--
	case p.running < p.size:
		p.running++
		wg.Add(1)
		return true, true
	default:
		p.backlog++
	}
	return false, true
}

// finished is a worker's call after a delivery: true means a backlog
// delivery counts on it, so it must receive again; otherwise it is idle.
func (p *workerPool) finished() (takeBacklog bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backlog > 0 {
		p.backlog--
		return true
	}
	p.idle++
	return false
}

// retire is an idle worker's call when its idle timer fires: true means it
// may exit (it was not counted on).
func (p *workerPool) retire() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == 0 {
		return false
	}
	p.idle--
	p.running--
	return true
}

// close stops new workers from being started (Stop's first step, so the
// WaitGroup is not added to while Stop waits on it).
func (p *workerPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// enqueue hands a delivery to the workers, starting one when none is free
// and the pool has room; while stopping it is returned to the queue.
func (s *Server) enqueue(d driver.Delivery) {
	spawn, ok := s.pool.reserve(&s.workers)
	if !ok {
		_ = d.Nack(true)
		return
	}
	if spawn {
		go s.worker()
	}
	select {
	case s.work <- d:
	case <-s.stopping:
		_ = d.Nack(true)
	}
}

func (s *Server) worker() {
	defer s.workers.Done()
	idle := time.NewTimer(s.pool.idleTimeout)
	defer idle.Stop()
	for {
		select {
		case d := <-s.work:
			select {
			case <-s.stopping:
				_ = d.Nack(true) // not started: back to the queue
				continue
			default:
			}
			s.handle(d)
			if !s.pool.finished() {
				idle.Reset(s.pool.idleTimeout)
			}
		case <-idle.C:
			if s.pool.retire() {
				return
			}
			// A delivery counts on this worker: wait for it.
			idle.Reset(s.pool.idleTimeout)
		case <-s.stopping:
			// Drain what is queued locally back to the broker.
			for {
				select {
				case d := <-s.work:
					_ = d.Nack(true)
				default:
					return
				}
			}
		}
	}
}
