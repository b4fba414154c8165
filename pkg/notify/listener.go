package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Result is what a Handler made of a notification (oslo's
// NotificationResult).
type Result int

const (
	// Handled acknowledges the notification.
	Handled Result = iota
	// Requeue puts it back on the queue: it is delivered again, to this or
	// another listener of the queue. A handler that always requeues makes it
	// loop; requeue only what a later attempt can handle.
	Requeue
)

func (r Result) String() string {
	if r == Requeue {
		return "requeue"
	}
	return "handled"
}

// Handler handles one notification. ctx carries the sender's request context
// (rpcsvc.ContextFrom).
type Handler func(ctx context.Context, n *Notification) Result

// Endpoint is oslo's notification endpoint: a handler per priority it wants
// (its info, warn, error, ... methods) and an optional filter (its
// filter_rule).
//
//	notify.Endpoint{
//		Filter:   notify.MustFilter(notify.FilterRules{EventType: `^compute\.instance\.`}),
//		Handlers: map[notify.Priority]notify.Handler{notify.Info: onInfo, notify.Error: onError},
//	}
type Endpoint struct {
	Filter   *Filter
	Handlers map[Priority]Handler
}

// Listener is oslo's NotificationListener on a Subscriber: it consumes
// `<topic>.<priority>` for every topic and every priority some endpoint
// handles (in the Subscriber's pool, if it has one), and dispatches each
// notification as oslo's dispatcher does: to the endpoints with a handler
// for its priority whose filter matches, in order, stopping at the first
// Requeue. A handler that panics counts as Requeue (oslo requeues on an
// exception). The message is acknowledged after the handlers return, or
// requeued. A notification whose _unique_id it handled recently (redelivered
// after a lost ack, or resent after a lost confirm) is acknowledged without
// running the handlers again, as oslo's listeners drop duplicates; with
// several listeners on a queue a duplicate can still reach another one.
type Listener struct {
	sub       *Subscriber
	topics    []string
	endpoints []Endpoint
	log       *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup

	seen *dedup
}

// dedupSize is how many handled _unique_ids a Listener remembers (oslo's
// listeners remember 16).
const dedupSize = 4096

// dedup is a bounded set of recently handled _unique_ids: a notification
// redelivered after its ack was lost (a cut connection), or republished after
// its confirm was lost, is acknowledged without running the handlers again,
// as oslo's listeners drop duplicates.
type dedup struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newDedup(n int) *dedup {
	return &dedup{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (d *dedup) seen(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[id]
	return ok
}

func (d *dedup) add(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[id]; ok {
		return
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.next] = id
	d.set[id] = struct{}{}
	d.next = (d.next + 1) % len(d.ring)
}

// NewListener returns a Listener of topics (for example
// []string{"notifications"}) on sub.
func NewListener(sub *Subscriber, topics []string, endpoints ...Endpoint) (*Listener, error) {
	if len(topics) == 0 {
		return nil, errors.New("notify: a listener needs at least one topic")
	}
	if len(endpoints) == 0 {
		return nil, errors.New("notify: a listener needs at least one endpoint")
	}
	for _, e := range endpoints {
		for p := range e.Handlers {
			if !p.Valid() {
				return nil, fmt.Errorf("notify: endpoint handles unknown priority %q", p)
			}
		}
	}
	return &Listener{sub: sub, topics: topics, endpoints: endpoints, log: sub.log, seen: newDedup(dedupSize)}, nil
}

// priorities are the priorities some endpoint handles, in oslo's order.
func (l *Listener) priorities() []Priority {
	var out []Priority
	for _, p := range Priorities {
		for _, e := range l.endpoints {
			if e.Handlers[p] != nil {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Start declares and consumes the queues, and returns once they are
// consumed. It runs until Stop.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		return errors.New("notify: listener already started")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var chans []<-chan *message.Message
	for _, t := range l.topics {
		for _, p := range l.priorities() {
			ch, err := l.sub.Subscribe(runCtx, t+"."+string(p))
			if err != nil {
				cancel()
				for _, c := range chans { // the ones started: they close once drained
					for range c {
					}
				}
				return err
			}
			chans = append(chans, ch)
		}
	}
	l.cancel = cancel
	for _, ch := range chans {
		l.wg.Add(1)
		go l.read(ch)
	}
	return nil
}

func (l *Listener) read(ch <-chan *message.Message) {
	defer l.wg.Done()
	var handlers sync.WaitGroup
	defer handlers.Wait()
	for msg := range ch {
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			l.handle(msg)
		}()
	}
}

func (l *Listener) handle(msg *message.Message) {
	n, err := FromMessage(msg)
	if err != nil { // cannot happen with this package's Subscriber
		l.log.Warn("notify: dropping an unreadable message", "message_id", msg.UUID, "error", err)
		msg.Ack()
		return
	}
	if n.UniqueID != "" && l.seen.seen(n.UniqueID) {
		l.log.Debug("notify: dropping a duplicate notification", "event_type", n.EventType, "message_id", n.MessageID, "unique_id", n.UniqueID)
		msg.Ack()
		return
	}
	if l.dispatch(msg.Context(), n) == Requeue {
		msg.Nack()
		return
	}
	if n.UniqueID != "" {
		l.seen.add(n.UniqueID)
	}
	msg.Ack()
}

func (l *Listener) dispatch(ctx context.Context, n *Notification) Result {
	for _, e := range l.endpoints {
		h := e.Handlers[n.Priority]
		if h == nil || !e.Filter.Match(n) {
			continue
		}
		if call(ctx, l.log, h, n) == Requeue {
			return Requeue
		}
	}
	return Handled
}

func call(ctx context.Context, log *slog.Logger, h Handler, n *Notification) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("notify: notification handler panicked; requeueing", "event_type", n.EventType, "message_id", n.MessageID, "panic", p, "stack", string(debug.Stack()))
			r = Requeue
		}
	}()
	return h(ctx, n)
}

// Stop stops consuming and returns once every notification being handled
// was acknowledged or requeued (bounded by the Subscriber's CloseTimeout).
// The Subscriber stays open.
func (l *Listener) Stop() {
	l.mu.Lock()
	cancel := l.cancel
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	l.wg.Wait()
}
