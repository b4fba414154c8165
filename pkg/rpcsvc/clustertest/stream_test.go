package clustertest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc"
)

// counter is the compute endpoint: it counts how many times each cast id
// was handled.
type counter struct {
	mu      sync.Mutex
	handled map[int]int
}

type RecordArgs struct {
	ID int `json:"id"`
}

type EchoArgs struct {
	N int `json:"n"`
}

func (c *counter) Record(ctx context.Context, a RecordArgs) error {
	c.mu.Lock()
	c.handled[a.ID]++
	c.mu.Unlock()
	return nil
}

func (c *counter) Echo(ctx context.Context, a EchoArgs) (int, error) { return a.N, nil }

func (c *counter) counts() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.handled)
}

// callResult is one call of the stream.
type callResult struct {
	start, end time.Time
	err        error
}

// stream sends casts (each with an id of its own, paced) and calls (one
// after the other) until stopped, and records what was confirmed.
type stream struct {
	cl           *rpcsvc.Client
	mu           sync.Mutex
	nextID       int
	confirmedIDs []int
	failed       []int // casts that returned an error: sent or not, unknown
	calls        []callResult
	stop         chan struct{}
	stopOnce     sync.Once
	wg           sync.WaitGroup
}

func startStream(cl *rpcsvc.Client, casters int, pace time.Duration) *stream {
	s := &stream{cl: cl, stop: make(chan struct{})}
	for range casters {
		s.wg.Add(1)
		go s.cast(pace)
	}
	s.wg.Add(1)
	go s.call()
	return s
}

func (s *stream) cast(pace time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(pace)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		id := s.nextID
		s.nextID++
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := s.cl.Cast(ctx, "record", RecordArgs{ID: id})
		cancel()
		s.mu.Lock()
		if err == nil {
			s.confirmedIDs = append(s.confirmedIDs, id)
		} else {
			s.failed = append(s.failed, id)
		}
		s.mu.Unlock()
	}
}

func (s *stream) call() {
	defer s.wg.Done()
	for n := 0; ; n++ {
		select {
		case <-s.stop:
			return
		default:
		}
		began := time.Now()
		var out int
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.cl.Call(ctx, "echo", EchoArgs{N: n}, &out)
		cancel()
		if err == nil && out != n {
			err = fmt.Errorf("echo %d answered %d", n, out)
		}
		s.mu.Lock()
		s.calls = append(s.calls, callResult{began, time.Now(), err})
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// end stops the stream and waits for it; it may be called again.
func (s *stream) end() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
}

// confirmed is how many casts were confirmed so far.
func (s *stream) confirmed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.confirmedIDs)
}

// outage is the longest time without a successful call between from and
// to: the gaps between the ends of successive successful calls, counted
// from the last success before from, up to to.
func (s *stream) outage(from, to time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := from
	var longest time.Duration
	for _, c := range s.calls { // in order: one caller
		if c.err != nil {
			continue
		}
		if !c.end.After(from) {
			prev = c.end
			continue
		}
		if c.end.After(to) {
			break
		}
		longest = max(longest, c.end.Sub(prev))
		prev = c.end
	}
	return max(longest, to.Sub(prev))
}

// succeededAfter reports whether a call that started after at succeeded.
func (s *stream) succeededAfter(at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.start.After(at) && c.err == nil {
			return true
		}
	}
	return false
}

// callsAfter counts the calls that ended after at, and their failures.
func (s *stream) callsAfter(at time.Time) (n, failed int, errs []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.end.After(at) {
			n++
			if c.err != nil {
				failed++
				if len(errs) < 3 {
					errs = append(errs, c.err)
				}
			}
		}
	}
	return n, failed, errs
}

// check waits until every confirmed cast was handled and reports the
// stream's counts; it fails the test when a confirmed cast is lost or any
// cast was handled more than once.
func (s *stream) check(t *testing.T, ep *counter, within time.Duration) (confirmed, failed, duplicates int) {
	t.Helper()
	s.mu.Lock()
	conf := slices.Clone(s.confirmedIDs)
	fail := slices.Clone(s.failed)
	s.mu.Unlock()
	deadline := time.Now().Add(within)
	var missing []int
	for {
		got := ep.counts()
		missing = missing[:0]
		for _, id := range conf {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			for id, n := range got {
				if n > 1 {
					duplicates++
					if duplicates <= 5 {
						t.Errorf("cast %d handled %d times", id, n)
					}
				}
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("%d confirmed casts never handled (lost), e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	return len(conf), len(fail), duplicates
}
