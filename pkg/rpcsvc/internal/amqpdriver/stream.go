package amqpdriver

import (
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// streamOffsets remembers where a consumer of a stream queue (the shared
// `<topic>_fanout` of rabbit_stream_fanout) is, so that after a reconnect it
// resumes there: a stream keeps its messages, and each consumer names the
// offset to start from (x-stream-offset).
//
// oslo resumes after the last offset it received (next_stream_offset =
// offset + 1, set when a message arrives): a message received but not yet
// handled when the connection dropped is lost to that server. gonova resumes
// at the lowest offset received and not yet settled (acked or nacked),
// else after the highest received: nothing is lost, and the messages handled
// again after that point are dropped by the server's _unique_id cache.
//
// The first consume starts at "next", the messages published from then on.
// oslo starts at "last", the beginning of the stream's last chunk, which
// hands a new server fanout casts sent before it started (up to a whole
// chunk of them); a restarted server would handle them twice.
type streamOffsets struct {
	mu          sync.Mutex
	attached    time.Time          // of the first consume
	started     bool               // a message was received
	next        int64              // highest offset received + 1
	outstanding map[int64]struct{} // received, not settled
}

func newStreamOffsets() *streamOffsets {
	return &streamOffsets{outstanding: map[int64]struct{}{}}
}

// resume is the x-stream-offset of the next basic.consume.
func (s *streamOffsets) resume() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.attached.IsZero():
		s.attached = time.Now()
		return "next"
	case !s.started:
		// Nothing received yet: what was published since the first
		// consume (a timestamp offset attaches at the chunk of that time).
		return s.attached
	}
	low := s.next
	for o := range s.outstanding {
		low = min(low, o)
	}
	// Deliveries of the old channel that are still outstanding are
	// delivered again from low on: forget them, they are tracked anew.
	clear(s.outstanding)
	return low
}

// reset starts over at the current time: the broker cancelled the
// consumer (the stream may have been deleted and declared again).
func (s *streamOffsets) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attached, s.started, s.next = time.Now(), false, 0
	clear(s.outstanding)
}

// received records a delivery's offset (RabbitMQ sets the x-stream-offset
// header on every message of a stream) and returns it, or -1 without one.
func (s *streamOffsets) received(dl amqp.Delivery) int64 {
	off, ok := streamOffset(dl.Headers)
	if !ok {
		return -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = true
	s.outstanding[off] = struct{}{}
	s.next = max(s.next, off+1)
	return off
}

// settled forgets a handled offset.
func (s *streamOffsets) settled(off int64) {
	if off < 0 {
		return
	}
	s.mu.Lock()
	delete(s.outstanding, off)
	s.mu.Unlock()
}

func streamOffset(h amqp.Table) (int64, bool) {
	switch v := h["x-stream-offset"].(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int:
		return int64(v), true
	case uint32:
		return int64(v), true
	}
	return 0, false
}
