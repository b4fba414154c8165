package rpcsvc

import (
	"sync"
)

// dedup remembers, per message key (_unique_id), whether a message was
// handled, is being handled, or failed how many times. It is bounded: the
// least recently used settled entries are forgotten first.
//
// One allocation per new key: the entry is its own list element, and the
// channel a second delivery waits on is made only when one does.
type dedup struct {
	mu   sync.Mutex
	max  int
	n    int
	head dedupEntry // sentinel: head.next is the most recently used
	m    map[string]*dedupEntry
}

type dedupEntry struct {
	key        string
	done       bool
	running    bool          // a handler runs it
	wake       chan struct{} // made by a waiter while running; closed when it ends
	attempts   int           // failed attempts so far
	prev, next *dedupEntry
}

func newDedup(max int) *dedup {
	d := &dedup{max: max, m: map[string]*dedupEntry{}}
	d.head.prev, d.head.next = &d.head, &d.head
	return d
}

func (d *dedup) unlink(e *dedupEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (d *dedup) pushFront(e *dedupEntry) {
	e.prev, e.next = &d.head, d.head.next
	d.head.next.prev = e
	d.head.next = e
}

// begin claims key. dup: the message was handled already. wait non-nil:
// another delivery of it is running; wait and call begin again. Otherwise the
// caller runs it and must call finish.
func (d *dedup) begin(key string) (dup bool, wait <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.m[key]; ok {
		d.unlink(e)
		d.pushFront(e)
		if e.done {
			return true, nil
		}
		if e.running {
			if e.wake == nil {
				e.wake = make(chan struct{})
			}
			return false, e.wake
		}
		e.running = true
		return false, nil
	}
	e := &dedupEntry{key: key, running: true}
	d.m[key] = e
	d.pushFront(e)
	d.n++
	d.evict()
	return false, nil
}

// finish releases key: handled (done) or failed once more. It returns the
// number of failed attempts so far.
func (d *dedup) finish(key string, done bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.m[key]
	if !ok {
		return 1
	}
	if e.running {
		e.running = false
		if e.wake != nil {
			close(e.wake)
			e.wake = nil
		}
	}
	if done {
		e.done = true
	} else {
		e.attempts++
	}
	return e.attempts
}

func (d *dedup) evict() {
	for e := d.head.prev; e != &d.head && d.n > d.max; {
		prev := e.prev
		if !e.running {
			d.unlink(e)
			delete(d.m, e.key)
			d.n--
		}
		e = prev
	}
}

func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}
