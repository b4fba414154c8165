package amqpdriver

import (
	"errors"
	"sync"
	"time"
)

// ackSender is the part of *amqp.Channel an acker writes to.
type ackSender interface {
	Ack(tag uint64, multiple bool) error
	Nack(tag uint64, multiple, requeue bool) error
}

// errAckerClosed is returned by settle calls after the acker stopped (its
// channel is gone: the broker redelivers the message on the next one).
var errAckerClosed = errors.New("amqpdriver: channel closed; the message will be redelivered")

// ackHold is how long acks above a gap (an earlier delivery still being
// handled) wait for the gap to close before they are sent one by one. It
// bounds how long a slow handler can hold prefetch slots of finished ones.
const ackHold = 2 * time.Millisecond

// ackCoalesce is how long finished acks wait for more before they go out,
// when few are waiting: at a low message rate each ack would otherwise be
// a frame of its own (a write, and five allocations in amqp091-go), and the
// broker needs the ack only to free a prefetch slot. Nacks go at once.
const ackCoalesce = time.Millisecond

// acker settles the deliveries of one AMQP channel in batches: handlers
// finish in any order, and instead of one basic.ack frame (and one write)
// per message it sends one ack with multiple=true for the run of finished
// delivery tags starting at the lowest unsettled one. Delivery tags on a
// channel are consecutive from 1 and every consumer on the channel is ours,
// so "all tags up to T are finished" is known exactly.
//
// Nacks are sent at once and one by one, before any ack that covers their
// tag (a multiple ack must never settle a message meant to be requeued).
// Acks above a gap wait at most ackHold, then go one by one, so a slow
// handler does not hold up the prefetch window.
//
// Settling is asynchronous: a settle call returns once the acker has the
// request. Close sends everything still pending. If the channel dies first,
// the broker redelivers what was not acked, and the server's duplicate
// suppression drops what it already handled.
type acker struct {
	ch  ackSender
	now func() time.Time // the clock behind ackHold (tests step it)

	// coalesceMax > 0 holds acks up to ackCoalesce while fewer than it are
	// pending (set from the prefetch: a held ack never starves the window).
	coalesceMax int

	mu      sync.Mutex
	pending []settlement
	nacks   bool // pending holds a nack: no coalescing
	closed  bool
	wake    chan struct{} // cap 1
	stop    chan struct{}
	done    chan struct{}

	// Owned by run.
	spare []settlement         // the last batch, emptied: the next pending (no allocation per batch)
	next  uint64               // lowest tag not yet settled on the broker
	acked map[uint64]time.Time // finished, ack not sent; when it finished
	sent  map[uint64]bool      // above next, already settled on the broker
	err   error                // first send error; later sends are pointless
}

type settlement struct {
	tag     uint64
	ack     bool
	requeue bool
}

// newAcker starts an acker of ch; coalesceMax > 0 holds up to that many
// acks for ackCoalesce.
func newAcker(ch ackSender, coalesceMax int) *acker {
	a := &acker{
		ch: ch, now: time.Now, coalesceMax: coalesceMax,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		next: 1, acked: map[uint64]time.Time{}, sent: map[uint64]bool{},
	}
	go a.run()
	return a
}

// Ack settles tag as handled.
func (a *acker) Ack(tag uint64) error { return a.put(settlement{tag: tag, ack: true}) }

// Nack settles tag as not handled; requeue puts it back on its queue.
func (a *acker) Nack(tag uint64, requeue bool) error {
	return a.put(settlement{tag: tag, requeue: requeue})
}

func (a *acker) put(s settlement) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errAckerClosed
	}
	a.pending = append(a.pending, s)
	a.nacks = a.nacks || !s.ack
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close sends what is pending and stops. It returns the first error the
// channel gave, if any. Settle calls after Close fail with errAckerClosed.
func (a *acker) Close() error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.stop)
	}
	a.mu.Unlock()
	<-a.done
	return a.err
}

// Abandon stops without sending anything more: the channel is gone. It
// returns the error a send met before, if any (for the log; a later Close
// returns nil).
func (a *acker) Abandon() error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		a.pending = nil
		close(a.stop)
	}
	a.mu.Unlock()
	<-a.done
	err := a.err
	a.err = nil
	return err
}

func (a *acker) run() {
	defer close(a.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	coalesce := time.NewTimer(time.Hour)
	coalesce.Stop()
	armed := false
	for {
		select {
		case <-a.wake:
			if a.coalesceMax > 0 {
				a.mu.Lock()
				hold := !a.nacks && len(a.pending) < a.coalesceMax
				a.mu.Unlock()
				if hold {
					if !armed {
						coalesce.Reset(ackCoalesce)
						armed = true
					}
					continue
				}
			}
		case <-coalesce.C:
		case <-timer.C:
		case <-a.stop:
			a.mu.Lock()
			batch := a.pending
			a.pending = nil
			a.mu.Unlock()
			a.apply(batch, true)
			return
		}
		if armed {
			coalesce.Stop()
			armed = false
		}
		a.mu.Lock()
		batch := a.pending
		a.pending, a.spare = a.spare, nil
		a.nacks = false
		a.mu.Unlock()
		if wait := a.apply(batch, false); wait > 0 {
			timer.Reset(wait)
		}
		clear(batch)
		a.spare = batch[:0]
	}
}

// apply sends the frames batch calls for. It returns how long until the
// oldest ack held above a gap must go out (0: nothing held). With final set
// every finished ack is sent.
func (a *acker) apply(batch []settlement, final bool) time.Duration {
	now := a.now()
	for _, s := range batch {
		if _, held := a.acked[s.tag]; held || s.tag < a.next || a.sent[s.tag] {
			continue // settled already: a second frame would close the channel
		}
		if s.ack {
			a.acked[s.tag] = now
			continue
		}
		a.send(func() error { return a.ch.Nack(s.tag, false, s.requeue) })
		a.settled(s.tag)
	}
	// The run of finished tags from next: one multiple ack covers it. Its
	// tag must be one still unsettled on the broker (RabbitMQ refuses a
	// multiple ack whose own tag is unknown), so it is the highest acked tag
	// of the run, not a nacked or already-acked one after it.
	end, last := a.next, uint64(0)
	for {
		if _, ok := a.acked[end]; ok {
			last = end
		} else if !a.sent[end] {
			break
		}
		delete(a.acked, end)
		delete(a.sent, end)
		end++
	}
	if last != 0 {
		a.send(func() error { return a.ch.Ack(last, true) })
	}
	a.next = end
	// Acks above the gap: sent one by one once held long enough.
	var wait time.Duration
	for tag, at := range a.acked {
		left := ackHold - now.Sub(at)
		if final || left <= 0 {
			a.send(func() error { return a.ch.Ack(tag, false) })
			delete(a.acked, tag)
			a.settled(tag)
			continue
		}
		if wait == 0 || left < wait {
			wait = left
		}
	}
	return wait
}

// settled records that tag was settled on the broker by a frame of its own.
func (a *acker) settled(tag uint64) {
	if tag == a.next {
		a.next++
		for a.sent[a.next] {
			delete(a.sent, a.next)
			a.next++
		}
		return
	}
	if tag > a.next {
		a.sent[tag] = true
	}
}

func (a *acker) send(frame func() error) {
	if a.err != nil {
		return
	}
	if err := frame(); err != nil {
		a.err = err
	}
}
