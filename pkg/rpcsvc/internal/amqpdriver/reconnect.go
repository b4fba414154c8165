package amqpdriver

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Failover strategies of kombu_failover_strategy.
const (
	RoundRobin = "round-robin"
	Shuffle    = "shuffle"
)

// Reconnect is how the driver finds a broker again after losing one: the
// oslo options of impl_rabbit.Connection, with the behaviour kombu gives
// them (Connection.ensure / _ensure_connection / retry_over_time).
//
// After a loss, and after every failed dial, oslo's error callback sleeps
// kombu_reconnect_delay; kombu then tries the next host of the failover
// cycle at once, and only after a whole cycle over the hosts failed sleeps
// the next retry interval: rabbit_retry_interval, growing by
// rabbit_retry_backoff per cycle (linearly) up to rabbit_interval_max. So
// with three hosts and one dead, the client is on the next host about one
// kombu_reconnect_delay after the loss, not after a backoff.
type Reconnect struct {
	// Strategy is kombu_failover_strategy: RoundRobin (default) moves to the
	// host after the one lost, in transport_url order; Shuffle picks a host
	// at random each time (kombu's shufflecycle: the same one may come
	// again).
	Strategy string
	// Delay is kombu_reconnect_delay (default 1s; 0 none), Splay
	// kombu_reconnect_splay: a random part of up to Splay is added to each
	// Delay wait. (oslo 14 and later only add the splay to the interval
	// they log; its help text, and gonova, wait it, to spread the
	// reconnects of many services.)
	Delay, Splay time.Duration
	// Interval, Backoff and IntervalMax are rabbit_retry_interval (default
	// 1s), rabbit_retry_backoff (2s) and rabbit_interval_max (30s).
	Interval, Backoff, IntervalMax time.Duration
	// Cap (gonova, rpcsvc's ReconnectMaxInterval) bounds every single wait
	// when positive; tests use it to reconnect quickly.
	Cap time.Duration
}

// DefaultReconnect is oslo's defaults.
var DefaultReconnect = Reconnect{Strategy: RoundRobin, Delay: time.Second, Interval: time.Second, Backoff: 2 * time.Second, IntervalMax: 30 * time.Second}

// Validate refuses what oslo's option types refuse.
func (r Reconnect) Validate() error {
	switch {
	case r.Strategy != RoundRobin && r.Strategy != Shuffle:
		return fmt.Errorf("kombu_failover_strategy must be %s or %s, got %q", RoundRobin, Shuffle, r.Strategy)
	case r.Delay < 0 || r.Splay < 0 || r.Backoff < 0:
		return fmt.Errorf("kombu_reconnect_delay, kombu_reconnect_splay and rabbit_retry_backoff must not be negative")
	case r.Interval < time.Second || r.IntervalMax < time.Second:
		return fmt.Errorf("rabbit_retry_interval and rabbit_interval_max must be at least 1s")
	}
	return nil
}

// withDefaults fills the zero fields with oslo's defaults (Delay and Splay
// keep their zero: it is a valid setting).
func (r Reconnect) withDefaults() Reconnect {
	if r.Strategy == "" {
		r.Strategy = RoundRobin
	}
	if r.Interval == 0 {
		r.Interval = DefaultReconnect.Interval
	}
	if r.IntervalMax == 0 {
		r.IntervalMax = DefaultReconnect.IntervalMax
	}
	return r
}

// reconnectPlan is one reconnect episode: which host to dial next and how
// long to wait before. It is not safe for concurrent use.
type reconnectPlan struct {
	r       Reconnect
	hosts   int
	cur     int // index of the host to dial next
	retries int // failed dials so far
	// next retry interval, kombu's fxrange(start, max+start, step,
	// repeatlast=True): start, start+step, ... while <= max+start, then
	// the last one again.
	interval time.Duration
	rnd      func(n int) int
	splay    func(d time.Duration) time.Duration
}

// newPlan starts an episode after losing host lost (of hosts). The first
// dial goes to the host lost, as kombu's: a broker that merely dropped the
// connection is often back.
func newPlan(r Reconnect, hosts, lost int) *reconnectPlan {
	return &reconnectPlan{
		r: r, hosts: hosts, cur: lost, interval: r.Interval,
		rnd:   rand.IntN,
		splay: func(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d) + 1)) },
	}
}

// first is the wait before the first dial (oslo sleeps kombu_reconnect_delay
// in the error callback of the operation that lost the connection).
func (p *reconnectPlan) first() time.Duration { return p.capped(p.delay()) }

// host is the index of the host to dial now.
func (p *reconnectPlan) host() int { return p.cur }

// failed records a failed dial of host() and returns the wait before the
// next one, having moved host() to the next host of the strategy.
func (p *reconnectPlan) failed() time.Duration {
	wait := p.delay()
	if (p.retries+1)%p.hosts == 0 { // kombu's completes_cycle
		wait += p.nextInterval()
	}
	p.retries++
	switch p.r.Strategy {
	case Shuffle:
		p.cur = p.rnd(p.hosts)
	default:
		p.cur = (p.cur + 1) % p.hosts
	}
	return p.capped(wait)
}

func (p *reconnectPlan) delay() time.Duration {
	d := p.r.Delay
	if p.r.Splay > 0 {
		d += p.splay(p.r.Splay)
	}
	return d
}

func (p *reconnectPlan) nextInterval() time.Duration {
	iv := p.interval
	if next := p.interval + p.r.Backoff; next <= p.r.IntervalMax+p.r.Interval {
		p.interval = next
	}
	return iv
}

func (p *reconnectPlan) capped(d time.Duration) time.Duration {
	if p.r.Cap > 0 && d > p.r.Cap {
		return p.r.Cap
	}
	return d
}
