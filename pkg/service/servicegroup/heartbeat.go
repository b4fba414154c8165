package servicegroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/gonova/gonova/pkg/registry"
)

// Heartbeat is a joined service's report loop. Create it with Join; end it
// with Stop.
type Heartbeat struct {
	store   registry.Store
	opts    Options
	metrics *metrics
	log     *slog.Logger
	ident   registry.NewService // what to re-create when the row was deleted

	id     atomic.Int64 // the live row's id; changes when the row is re-created
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	done   chan struct{}

	// Owned by the loop goroutine.
	disconnected bool
	failures     int
}

// Join starts reporting svc's heartbeats into store: the first report after
// opts.InitialDelay, then every opts.ReportInterval (jittered) until Stop. svc
// is the service's live row, as registry.FindOrCreate returned it. Join
// returns an error only for bad input; report failures never end the loop.
func Join(store registry.Store, svc registry.Service, opts Options) (*Heartbeat, error) {
	if store == nil {
		return nil, errors.New("servicegroup: Join: store is nil")
	}
	if svc.ID <= 0 {
		return nil, fmt.Errorf("servicegroup: Join: service id %d: pass the row registry.FindOrCreate returned", svc.ID)
	}
	ident := registry.NewService{Host: svc.Host, Binary: svc.Binary, Topic: svc.Topic, Version: svc.Version}
	if err := ident.Validate(); err != nil {
		return nil, fmt.Errorf("servicegroup: Join: %w", err)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("servicegroup: registering metrics: %w", err)
	}
	m.precreate(svc.Binary)
	ctx, cancel := context.WithCancel(context.Background())
	h := &Heartbeat{
		store: store, opts: opts, metrics: m, ident: ident,
		log:    opts.Logger.With("host", svc.Host, "binary", svc.Binary),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	h.id.Store(svc.ID)
	go h.run()
	return h, nil
}

// ServiceID returns the id of the row the heartbeat reports into. It changes
// when a deleted row is re-created.
func (h *Heartbeat) ServiceID() int64 { return h.id.Load() }

// Done is closed when the loop has ended (after Stop).
func (h *Heartbeat) Done() <-chan struct{} { return h.done }

// Stop ends the loop: it cancels the report in flight, if any, and returns
// once the loop goroutine has returned. It is safe to call more than once and
// from several goroutines.
func (h *Heartbeat) Stop() {
	h.once.Do(h.cancel)
	<-h.done
}

func (h *Heartbeat) run() {
	defer close(h.done)
	t := h.opts.Clock.NewTimer(h.opts.InitialDelay)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C():
		}
		start := h.opts.Clock.Now()
		h.reportOnce()
		// Fixed rate, as nova's FixedIntervalLoopingCall: a slow report
		// shortens the following wait rather than delaying every later one.
		next := max(h.opts.Jitter(h.opts.ReportInterval)-h.opts.Clock.Since(start), 0)
		t.Reset(next)
	}
}

// reportOnce makes one report and accounts for its outcome. It never panics.
func (h *Heartbeat) reportOnce() {
	ctx, cancel := context.WithTimeout(h.ctx, h.opts.ReportTimeout)
	defer cancel()
	binary := h.ident.Binary
	start := h.opts.Clock.Now()
	hb, err := h.report(ctx)
	h.metrics.duration.WithLabelValues(binary).Observe(h.opts.Clock.Since(start).Seconds())
	if err != nil && h.ctx.Err() != nil {
		return // stopped mid-report: not a failure of the registry
	}
	if err != nil {
		h.metrics.reports.WithLabelValues(binary, OutcomeFailure).Inc()
		h.failures++
		if !h.disconnected {
			h.disconnected = true
			h.log.Error("lost connection to the service registry; reporting service status fails, retrying every report_interval",
				"service_id", h.id.Load(), "error", err)
		} else {
			h.log.Debug("service status report failed again", "service_id", h.id.Load(), "failures", h.failures, "error", err)
		}
		return
	}
	h.metrics.reports.WithLabelValues(binary, OutcomeSuccess).Inc()
	h.metrics.lastSuccess.WithLabelValues(binary).Set(float64(h.opts.Clock.Now().UnixNano()) / 1e9)
	if h.disconnected {
		h.log.Info("recovered: reporting service status again",
			"service_id", h.id.Load(), "failed_reports", h.failures, "report_count", hb.ReportCount)
		h.disconnected = false
		h.failures = 0
	}
}

// report increments the row's report_count, re-creating the row first if it
// was deleted. A panic in the store becomes an error.
func (h *Heartbeat) report(ctx context.Context) (hb registry.Heartbeat, err error) {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("service status report panicked", "service_id", h.id.Load(), "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("servicegroup: report panicked: %v", r)
		}
	}()
	id := h.id.Load()
	hb, err = h.store.Report(ctx, id)
	if !errors.Is(err, registry.ErrNotFound) {
		return hb, err
	}
	svc, created, err := registry.FindOrCreate(ctx, h.store, h.ident, h.opts.CreateOptions)
	if err != nil {
		return hb, fmt.Errorf("servicegroup: service record %d is gone and re-creating it failed: %w", id, err)
	}
	h.id.Store(svc.ID)
	h.metrics.recreated.WithLabelValues(h.ident.Binary).Inc()
	h.log.Warn("service record was deleted while the service ran; re-created it",
		"old_service_id", id, "service_id", svc.ID, "created_here", created)
	return h.store.Report(ctx, svc.ID)
}

// String names the heartbeat in logs and reports.
func (h *Heartbeat) String() string {
	return fmt.Sprintf("servicegroup heartbeat of %s on %s (every %v)", h.ident.Binary, h.ident.Host, h.opts.ReportInterval)
}

var _ fmt.Stringer = (*Heartbeat)(nil)
