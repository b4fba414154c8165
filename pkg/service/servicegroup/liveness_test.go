package servicegroup_test

import (
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
)

func TestIsUp(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := created.Add(d); return &x }
	down := 60 * time.Second
	cases := []struct {
		name string
		svc  registry.Service
		now  time.Time
		want bool
	}{
		{"fresh heartbeat", registry.Service{CreatedAt: created, LastSeenUp: at(time.Hour)}, created.Add(time.Hour + 10*time.Second), true},
		{"exactly service_down_time old", registry.Service{CreatedAt: created, LastSeenUp: at(0)}, created.Add(down), true},
		{"just older", registry.Service{CreatedAt: created, LastSeenUp: at(0)}, created.Add(down + time.Microsecond), false},
		{"never reported, young row", registry.Service{CreatedAt: created}, created.Add(30 * time.Second), true},
		{"never reported, old row", registry.Service{CreatedAt: created}, created.Add(2 * time.Minute), false},
		{"last_seen_up wins over created_at", registry.Service{CreatedAt: created, LastSeenUp: at(-time.Hour)}, created.Add(time.Second), false},
		{"forced down with fresh heartbeat", registry.Service{CreatedAt: created, LastSeenUp: at(0), ForcedDown: true}, created, false},
		{"stamp slightly in the future (nova: abs)", registry.Service{CreatedAt: created, LastSeenUp: at(10 * time.Second)}, created, true},
		{"stamp far in the future", registry.Service{CreatedAt: created, LastSeenUp: at(10 * time.Minute)}, created, false},
	}
	for _, c := range cases {
		if got := servicegroup.IsUp(c.svc, c.now, down); got != c.want {
			t.Errorf("%s: IsUp = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEffectiveServiceDownTime(t *testing.T) {
	cases := []struct {
		down, interval, want time.Duration
		warns                bool
	}{
		{60 * time.Second, 10 * time.Second, 60 * time.Second, false},
		{11 * time.Second, 10 * time.Second, 11 * time.Second, false},
		{10 * time.Second, 10 * time.Second, 25 * time.Second, true},
		{5 * time.Second, 10 * time.Second, 25 * time.Second, true},
		{3 * time.Second, 3 * time.Second, 7 * time.Second, true}, // int(7.5)
		{100 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, true},
	}
	for _, c := range cases {
		log, buf := newLogger(t)
		got := servicegroup.EffectiveServiceDownTime(c.down, c.interval, log)
		if got != c.want {
			t.Errorf("EffectiveServiceDownTime(%v, %v) = %v, want %v", c.down, c.interval, got, c.want)
		}
		if warned := buf.Count("level=WARN") == 1; warned != c.warns {
			t.Errorf("EffectiveServiceDownTime(%v, %v) warned=%v, want %v", c.down, c.interval, warned, c.warns)
		}
	}

}
