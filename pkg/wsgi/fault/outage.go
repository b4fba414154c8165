package fault

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// outageGap is how long without a 503 for a down backend ends an outage:
// the next one is logged again.
const outageGap = 30 * time.Second

// outageLog logs a backend outage once, not once per request: during an
// outage every request fails the same way, and a log line each would bury
// everything else. The first 503 of an outage is logged at error level; the
// ones that follow within outageGap of each other are counted, and the count
// is logged when the next outage begins.
type outageLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
	now        func() time.Time
}

var outages = &outageLog{now: time.Now}

func (o *outageLog) observe(ctx context.Context, l *slog.Logger, err error) {
	o.mu.Lock()
	now := o.now()
	fresh := o.last.IsZero() || now.Sub(o.last) > outageGap
	o.last = now
	before := o.suppressed
	if fresh {
		o.suppressed = 0
	} else {
		o.suppressed++
	}
	o.mu.Unlock()
	if fresh {
		l.ErrorContext(ctx, "a backend is unavailable: answering 503 until it returns (logged once per outage)",
			"error", err, "requests_answered_503_in_previous_outage", before)
	}
}
