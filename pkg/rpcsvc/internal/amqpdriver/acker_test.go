package amqpdriver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeBroker settles deliveries the way RabbitMQ's channel does
// (rabbit_channel:collect_acks): a multiple ack takes every unacked tag up to
// and including its own, and fails with "unknown delivery tag" when its own
// tag is not unacked; so does a single ack or nack of a tag not unacked.
type fakeBroker struct {
	mu        sync.Mutex
	unacked   []uint64 // delivered, not settled, in order
	outcome   map[uint64]string
	frames    []string
	delivered uint64
}

func newFakeBroker(n int) *fakeBroker {
	b := &fakeBroker{outcome: map[uint64]string{}}
	for range n {
		b.delivered++
		b.unacked = append(b.unacked, b.delivered)
	}
	return b
}

func (b *fakeBroker) Ack(tag uint64, multiple bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames = append(b.frames, fmt.Sprintf("ack %d multiple=%v", tag, multiple))
	return b.settle(tag, multiple, "acked")
}

func (b *fakeBroker) Nack(tag uint64, multiple, requeue bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames = append(b.frames, fmt.Sprintf("nack %d requeue=%v", tag, requeue))
	if multiple {
		return errors.New("the acker never sends multiple nacks")
	}
	if requeue {
		return b.settle(tag, false, "requeued")
	}
	return b.settle(tag, false, "rejected")
}

func (b *fakeBroker) settle(tag uint64, multiple bool, outcome string) error {
	i := slices.Index(b.unacked, tag)
	if i < 0 {
		return fmt.Errorf("PRECONDITION_FAILED - unknown delivery tag %d", tag)
	}
	if multiple {
		for _, t := range b.unacked[:i+1] {
			b.outcome[t] = outcome
		}
		b.unacked = slices.Delete(b.unacked, 0, i+1)
		return nil
	}
	b.outcome[tag] = outcome
	b.unacked = slices.Delete(b.unacked, i, i+1)
	return nil
}

// stepAcker is an acker driven by apply calls from the test, with a clock
// the test moves (no goroutine).
func stepAcker(ch ackSender) (*acker, *time.Time) {
	now := time.Unix(1000, 0)
	a := &acker{ch: ch, now: func() time.Time { return now },
		next: 1, acked: map[uint64]time.Time{}, sent: map[uint64]bool{}}
	return a, &now
}

func acks(tags ...uint64) []settlement {
	var s []settlement
	for _, t := range tags {
		s = append(s, settlement{tag: t, ack: true})
	}
	return s
}

func wantFrames(t *testing.T, b *fakeBroker, want ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Equal(b.frames, want) {
		t.Fatalf("frames\n got  %q\n want %q", b.frames, want)
	}
	b.frames = nil
}

func TestAckerOneMultipleAckForARunOfFinishedTags(t *testing.T) {
	b := newFakeBroker(5)
	a, _ := stepAcker(b)
	if wait := a.apply(acks(3, 1, 2, 5, 4), false); wait != 0 {
		t.Fatalf("nothing should be held, got wait %v", wait)
	}
	wantFrames(t, b, "ack 5 multiple=true")
	if a.err != nil || len(b.unacked) != 0 {
		t.Fatalf("err %v, unacked %v", a.err, b.unacked)
	}
}

func TestAckerHoldsAcksAboveAGapThenSendsThemAlone(t *testing.T) {
	b := newFakeBroker(4)
	a, now := stepAcker(b)
	if wait := a.apply(acks(2, 3), false); wait != ackHold {
		t.Fatalf("acks above the gap at tag 1 should wait %v, got %v", ackHold, wait)
	}
	wantFrames(t, b) // tag 1 may finish any moment: nothing yet

	*now = now.Add(ackHold) // tag 1 is slow: do not hold the prefetch window
	a.apply(nil, false)
	b.mu.Lock()
	slices.Sort(b.frames) // map order
	b.mu.Unlock()
	wantFrames(t, b, "ack 2 multiple=false", "ack 3 multiple=false")

	// When 1 finishes, the multiple ack names 1 itself (2 and 3 are settled).
	a.apply(acks(1, 4), false)
	wantFrames(t, b, "ack 4 multiple=true")
	if a.next != 5 || a.err != nil || len(b.unacked) != 0 {
		t.Fatalf("next %d err %v unacked %v", a.next, a.err, b.unacked)
	}
}

func TestAckerNacksGoFirstAndAreNeverCoveredByAnAck(t *testing.T) {
	b := newFakeBroker(3)
	a, _ := stepAcker(b)
	a.apply([]settlement{{tag: 1, ack: true}, {tag: 2, requeue: true}, {tag: 3, ack: true}}, false)
	wantFrames(t, b, "nack 2 requeue=true", "ack 3 multiple=true")
	for tag, want := range map[uint64]string{1: "acked", 2: "requeued", 3: "acked"} {
		if b.outcome[tag] != want {
			t.Errorf("tag %d %s, want %s", tag, b.outcome[tag], want)
		}
	}

	// A run that ends on a nacked tag: the ack must name the last acked one
	// (RabbitMQ refuses a multiple ack of a tag it no longer holds).
	b2 := newFakeBroker(2)
	a2, _ := stepAcker(b2)
	a2.apply([]settlement{{tag: 1, ack: true}, {tag: 2, requeue: false}}, false)
	wantFrames(t, b2, "nack 2 requeue=false", "ack 1 multiple=true")
	if a2.err != nil || a2.next != 3 {
		t.Fatalf("err %v next %d", a2.err, a2.next)
	}
}

func TestAckerFinalApplySendsEverything(t *testing.T) {
	b := newFakeBroker(3)
	a, _ := stepAcker(b)
	a.apply(acks(3), true) // tag 1 and 2 still unsettled: 3 cannot wait
	wantFrames(t, b, "ack 3 multiple=false")
	a.apply(acks(1, 2), true)
	wantFrames(t, b, "ack 2 multiple=true")
	if len(b.unacked) != 0 || a.err != nil {
		t.Fatalf("unacked %v err %v", b.unacked, a.err)
	}
}

// Random orders, dispositions, batches and clock steps: the broker sees every
// tag settled exactly once, as the handler meant, and never an invalid frame.
func TestAckerRandomSchedulesSettleEveryTagExactlyOnce(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(200)
		b := newFakeBroker(n)
		a, now := stepAcker(b)
		want := map[uint64]string{}
		var order []settlement
		for tag := uint64(1); tag <= uint64(n); tag++ {
			s := settlement{tag: tag, ack: r.IntN(10) > 0, requeue: r.IntN(2) == 0}
			switch {
			case s.ack:
				want[tag] = "acked"
			case s.requeue:
				want[tag] = "requeued"
			default:
				want[tag] = "rejected"
			}
			order = append(order, s)
		}
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for len(order) > 0 {
			k := 1 + r.IntN(min(len(order), 20))
			a.apply(order[:k], false)
			order = order[k:]
			*now = now.Add(time.Duration(r.IntN(3)) * time.Millisecond)
		}
		a.apply(nil, true)
		if a.err != nil {
			t.Fatalf("seed %d: %v (frames %q)", seed, a.err, b.frames)
		}
		if len(b.unacked) != 0 {
			t.Fatalf("seed %d: unsettled %v", seed, b.unacked)
		}
		for tag, w := range want {
			if b.outcome[tag] != w {
				t.Fatalf("seed %d: tag %d %s, want %s", seed, tag, b.outcome[tag], w)
			}
		}
		if len(a.acked) != 0 || len(a.sent) != 0 || a.next != uint64(n)+1 {
			t.Fatalf("seed %d: state left: acked %v sent %v next %d", seed, a.acked, a.sent, a.next)
		}
	}
}

func TestAckerGoroutineSendsAtOnceAndCloseFlushes(t *testing.T) {
	b := newFakeBroker(3)
	a := newAcker(b, 0)
	if err := a.Ack(1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		n := len(b.frames)
		b.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an ack with no gap before it was not sent")
		}
		time.Sleep(time.Millisecond)
	}
	_ = a.Ack(3) // held above the gap at 2
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if b.outcome[3] != "acked" {
		t.Fatalf("Close did not send the held ack: %v", b.outcome)
	}
	if err := a.Ack(2); !errors.Is(err, errAckerClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}

	ab := newAcker(newFakeBroker(1), 0)
	_ = ab.Abandon()
	if err := ab.Nack(1, true); !errors.Is(err, errAckerClosed) {
		t.Fatalf("Nack after Abandon: %v", err)
	}
}

func TestAckerIgnoresASecondSettleOfATag(t *testing.T) {
	b := newFakeBroker(3)
	a, now := stepAcker(b)
	a.apply(acks(1), false)
	a.apply([]settlement{{tag: 1, ack: true}, {tag: 1, requeue: true}}, false) // below next
	a.apply(acks(3, 3), false)                                                 // held twice
	*now = now.Add(ackHold)
	a.apply([]settlement{{tag: 3, requeue: true}}, false) // sent alone, then again
	a.apply(acks(2), true)
	if a.err != nil {
		t.Fatalf("a second settle reached the broker: %v (frames %q)", a.err, b.frames)
	}
	wantFrames(t, b, "ack 1 multiple=true", "ack 3 multiple=false", "ack 2 multiple=true")
}

func TestAckerKeepsTheFirstChannelErrorAndStopsSending(t *testing.T) {
	b := newFakeBroker(0) // nothing delivered: every frame is refused
	a := newAcker(b, 0)
	_ = a.Ack(1)
	_ = a.Ack(2)
	err := a.Close()
	if err == nil || !strings.Contains(err.Error(), "unknown delivery tag") {
		t.Fatalf("Close: %v", err)
	}
	if len(b.frames) != 1 {
		t.Fatalf("frames after the first error: %q", b.frames)
	}
}

func frameCount(b *fakeBroker) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.frames)
}

// With coalescing, acks arriving together go out as one multiple ack after
// at most about ackCoalesce; a nack goes at once, and enough pending acks
// go without waiting.
func TestAckerCoalescesAcks(t *testing.T) {
	b := newFakeBroker(10)
	a := newAcker(b, 4)
	defer a.Close()
	start := time.Now()
	_ = a.Ack(1)
	_ = a.Ack(2)
	for frameCount(b) == 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("coalesced acks were never sent")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if el := time.Since(start); el < ackCoalesce/2 {
		t.Fatalf("acks went out after %s, not held", el)
	}
	wantFrames(t, b, "ack 2 multiple=true")

	_ = a.Nack(3, true)
	start = time.Now()
	for frameCount(b) == 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("nack not sent")
		}
		time.Sleep(50 * time.Microsecond)
	}
	for _, tag := range []uint64{4, 5, 6, 7} { // reaches coalesceMax
		_ = a.Ack(tag)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		done := b.outcome[7] == "acked"
		first := b.frames[0]
		b.mu.Unlock()
		if done {
			if first != "nack 3 requeue=true" {
				t.Fatalf("first frame after the acks %q, want the nack", first)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a full batch was not sent")
		}
		time.Sleep(50 * time.Microsecond)
	}
}
