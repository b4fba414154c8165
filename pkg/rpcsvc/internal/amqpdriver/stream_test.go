package amqpdriver

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func atOffset(off int64) amqp.Delivery {
	return amqp.Delivery{Headers: amqp.Table{"x-stream-offset": off}}
}

// A stream consumer starts at "next", resumes at the lowest offset received
// and not settled (a message in a handler when the connection dropped is
// read again), else after the highest received; before any message, at the
// time of its first consume.
func TestStreamOffsetsResume(t *testing.T) {
	s := newStreamOffsets()
	if got := s.resume(); got != "next" {
		t.Fatalf("first consume at %v, want next", got)
	}
	if got, ok := s.resume().(time.Time); !ok || time.Since(got) > time.Minute {
		t.Fatalf("resume before any message at %v, want the first consume's time", got)
	}
	for _, off := range []int64{10, 11, 12, 13} {
		if got := s.received(atOffset(off)); got != off {
			t.Fatalf("received %d, want %d", got, off)
		}
	}
	s.settled(10)
	s.settled(12)
	s.settled(13)
	if got := s.resume(); got != int64(11) {
		t.Fatalf("resume at %v, want 11 (received, not settled)", got)
	}
	s.received(atOffset(11))
	s.received(atOffset(12))
	s.settled(11)
	s.settled(12)
	if got := s.resume(); got != int64(14) {
		t.Fatalf("resume at %v, want 14 (after the highest received)", got)
	}
	if got := s.received(amqp.Delivery{}); got != -1 {
		t.Fatalf("a delivery without x-stream-offset: %d, want -1", got)
	}
	if got := s.received(amqp.Delivery{Headers: amqp.Table{"x-stream-offset": int32(20)}}); got != 20 {
		t.Fatalf("an int32 offset: %d", got)
	}
}
