package rpcsvc

import (
	"container/list"
	"sync"
)

// dedup remembers, per message key (_unique_id), whether a message was
// handled, is being handled, or failed how many times. It is bounded: the
// least recently used settled entries are forgotten first.
type dedup struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[string]*list.Element
}

type dedupEntry struct {
	key      string
	done     bool
	running  chan struct{} // non-nil while a handler runs; closed when it ends
	attempts int           // failed attempts so far
}

func newDedup(max int) *dedup {
	return &dedup{max: max, ll: list.New(), m: map[string]*list.Element{}}
}

// begin claims key. dup: the message was handled already. wait non-nil:
// another delivery of it is running; wait and call begin again. Otherwise the
// caller runs it and must call finish.
func (d *dedup) begin(key string) (dup bool, wait <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.m[key]; ok {
		e := el.Value.(*dedupEntry)
		d.ll.MoveToFront(el)
		if e.done {
			return true, nil
		}
		if e.running != nil {
			return false, e.running
		}
		e.running = make(chan struct{})
		return false, nil
	}
	e := &dedupEntry{key: key, running: make(chan struct{})}
	d.m[key] = d.ll.PushFront(e)
	d.evict()
	return false, nil
}

// finish releases key: handled (done) or failed once more. It returns the
// number of failed attempts so far.
func (d *dedup) finish(key string, done bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	el, ok := d.m[key]
	if !ok {
		return 1
	}
	e := el.Value.(*dedupEntry)
	if e.running != nil {
		close(e.running)
		e.running = nil
	}
	if done {
		e.done = true
	} else {
		e.attempts++
	}
	return e.attempts
}

func (d *dedup) evict() {
	for el := d.ll.Back(); el != nil && d.ll.Len() > d.max; {
		prev := el.Prev()
		if e := el.Value.(*dedupEntry); e.running == nil {
			d.ll.Remove(el)
			delete(d.m, e.key)
		}
		el = prev
	}
}

func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ll.Len()
}
