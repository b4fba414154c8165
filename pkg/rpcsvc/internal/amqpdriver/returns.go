package amqpdriver

import (
	"sync"
	"unsafe"

	amqp "github.com/rabbitmq/amqp091-go"
)

// returnsBuffer is the NotifyReturn channel's capacity. Returns wait there
// until a publisher of the channel drains them; amqp091-go's reader drops a
// return it cannot hand over within 5 s, so the buffer must hold every
// return that can arrive between two drains (see returns).
const returnsBuffer = 256

// returns correlates a channel's basic.return frames with its Mandatory
// publishes. RabbitMQ sends a returned message's basic.return before its
// basic.ack on the same channel, and amqp091-go hands both over in that order
// from its one reader goroutine: the return is in the NotifyReturn channel by
// the time the publisher sees its ack. The publisher then drains the channel
// itself, under mu, and looks its message up: no goroutine sits between the
// reader and the publisher, so a confirmed Mandatory publish costs no
// wake-up of a third goroutine (a loop receiving the returns could not be
// told "nothing in hand" from "received, not yet recorded" without one).
//
// Every receive from the channel happens under mu, by a publisher that
// learnt its own outcome (drain) or by a watcher of a publish given up
// before its confirm: its return, if any, comes before that confirm, so the
// watcher drains once the confirm (or the channel's end) is in. Between two
// drains at most the publishes in flight on the channel can be returned.
//
// A return carries no delivery tag; it carries the message itself. Every
// message rpcsvc publishes has a _unique_id of its own in the body, so the
// exchange, routing key and body identify it (a message_id property would
// cost an encode and a decode of one more field per message). Two identical
// messages in flight, should there be any, are interchangeable: counts.
type returns struct {
	in <-chan amqp.Return // received from only under mu

	mu       sync.Mutex
	closed   bool                   // in is closed: the channel is gone
	expected map[returnKey]int      // Mandatory publishes awaiting their confirm
	returned map[returnKey][]string // the broker's reply texts
	// unexpected handles a return no publisher waits for (it gave up);
	// called without mu.
	unexpected func(amqp.Return)
	// watchers counts the goroutines of given-up publishes (the driver's
	// WaitGroup: Close waits for them; the channel's end releases them).
	watchers *sync.WaitGroup
}

// returnKey identifies a message. body is a view of the publish's (or the
// return's) body, which nobody changes while the entry exists.
type returnKey struct{ exchange, key, body string }

func keyOf(exchange, key string, body []byte) returnKey {
	return returnKey{exchange, key, unsafe.String(unsafe.SliceData(body), len(body))}
}

func newReturns(in <-chan amqp.Return, unexpected func(amqp.Return)) *returns {
	return &returns{
		in: in, expected: map[returnKey]int{}, returned: map[returnKey][]string{},
		unexpected: unexpected, watchers: &sync.WaitGroup{},
	}
}

func (r *returns) expect(k returnKey) {
	r.mu.Lock()
	r.expected[k]++
	r.mu.Unlock()
}

// take records every return handed over so far, then forgets one publish
// of k and reports whether it was returned, and why. Called once the
// publish's confirm is in, it is exact.
func (r *returns) take(k returnKey) (reason string, returned bool) {
	r.mu.Lock()
	orphans := r.drainLocked(nil)
	if rs := r.returned[k]; len(rs) > 0 {
		reason, returned = rs[0], true
		if len(rs) == 1 {
			delete(r.returned, k)
		} else {
			r.returned[k] = rs[1:]
		}
	}
	if r.expected[k] <= 1 {
		delete(r.expected, k)
	} else {
		r.expected[k]--
	}
	r.mu.Unlock()
	r.report(orphans)
	return reason, returned
}

// abandon forgets one publish of k whose publisher gave up waiting for its
// confirm: nobody will learn that it was returned, so its return is
// reported as unexpected, whether it is already in (the confirm may have
// come as the publisher gave up) or still to come, before confirmed is
// closed, when a watcher drains it.
func (r *returns) abandon(k returnKey, confirmed <-chan struct{}) {
	if reason, returned := r.take(k); returned {
		// k.body is a view of the publisher's body, still its own here.
		r.report([]amqp.Return{{Exchange: k.exchange, RoutingKey: k.key, Body: []byte(k.body), ReplyText: reason}})
		return
	}
	r.watchers.Add(1)
	go func() {
		defer r.watchers.Done()
		<-confirmed // closed by the ack, the nack, or the channel's end
		r.mu.Lock()
		orphans := r.drainLocked(nil)
		r.mu.Unlock()
		r.report(orphans)
	}()
}

// drainLocked records every return in the channel and appends those no
// publisher expects to orphans. r.mu is held.
func (r *returns) drainLocked(orphans []amqp.Return) []amqp.Return {
	for !r.closed {
		select {
		case ret, ok := <-r.in:
			if !ok {
				r.closed = true
				return orphans
			}
			k := keyOf(ret.Exchange, ret.RoutingKey, ret.Body)
			if r.expected[k] > len(r.returned[k]) {
				r.returned[k] = append(r.returned[k], ret.ReplyText)
			} else {
				orphans = append(orphans, ret)
			}
		default:
			return orphans
		}
	}
	return orphans
}

func (r *returns) report(orphans []amqp.Return) {
	for _, ret := range orphans {
		r.unexpected(ret)
	}
}
