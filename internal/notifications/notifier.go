package notifications

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/notify"
	"github.com/gonova/gonova/pkg/ovo/novaobj"
)

// DefaultSendTimeout bounds one notification's send (all its drivers and
// topics) when Options.SendTimeout is zero.
const DefaultSendTimeout = 10 * time.Second

// Sources of notifications (novaobj's NotificationSource).
const (
	SourceAPI     = novaobj.SourceAPI
	SourceCompute = novaobj.SourceCompute
)

// Flavor is what an instance's flavor payload is filled from.
type Flavor struct {
	ID          string
	Name        string
	MemoryMB    int64
	VCPUs       int64
	RootGB      int64
	EphemeralGB int64
	Swap        int64
	RxtxFactor  float64
	IsPublic    bool
	Disabled    bool
}

// Options configure New.
type Options struct {
	// Host is the publisher's host ([DEFAULT] host); required.
	Host string
	// Source is the publisher of the instance notifications: SourceCompute
	// (default) or SourceAPI. As gives a Notifier of another source.
	Source string
	// Flavors looks up a flavor by its id (flavorid); nil or not found
	// leaves only what the instance row has.
	Flavors func(id string) (Flavor, bool)
	// Instances is read by InstanceByUUID; nil makes it do nothing.
	Instances computedb.Store
	// SendTimeout bounds each send; 0 means DefaultSendTimeout.
	SendTimeout time.Duration
	// Clock stamps deletions without a terminated_at; nil means clock.Real.
	Clock clock.Clock
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives gonova_notifications_sent_total and the
	// notifier's other series (pkg/notify); nil registers nothing.
	Registerer prometheus.Registerer
}

// Notifier sends nova's notifications. A nil *Notifier sends nothing: it is
// what New returns when notifications are off, and its methods return at
// once. It is safe for concurrent use.
type Notifier struct {
	root      *notify.Notifier // owns the connection
	versioned *notify.Notifier // nil unless notification_format sends them
	legacy    *notify.Notifier // nil unless notification_format sends them
	host      string
	source    string
	flavors   func(string) (Flavor, bool)
	instances computedb.Store
	timeout   time.Duration
	clock     clock.Clock
	log       *slog.Logger
}

// New returns the process's Notifier for c: nil (and no connection) when
// no [oslo_messaging_notifications] driver other than noop is configured.
// With a messaging driver it connects before ctx ends.
func New(ctx context.Context, c *config.Config, o Options) (*Notifier, error) {
	if o.Host == "" {
		return nil, fmt.Errorf("notifications: no host")
	}
	nopts := notify.OptionsFromConfig(c, "")
	nopts.Logger, nopts.Registerer = o.Logger, o.Registerer
	enabled := false
	for _, d := range nopts.Drivers {
		enabled = enabled || d != notify.DriverNoop
	}
	nc := c.NovaNotifications
	if !enabled || (!nc.Versioned() && !nc.Unversioned()) {
		return nil, nil
	}
	root, err := notify.NewNotifier(ctx, nopts)
	if err != nil {
		return nil, err
	}
	if o.Source == "" {
		o.Source = SourceCompute
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	n := &Notifier{root: root, host: o.Host, source: o.Source, flavors: o.Flavors, instances: o.Instances,
		timeout: o.SendTimeout, clock: clock.OrReal(o.Clock), log: o.Logger}
	if nc.Versioned() {
		n.versioned = root.WithTopics(nc.VersionedNotificationsTopics...)
	}
	if nc.Unversioned() {
		n.legacy = root
	}
	return n, nil
}

// Close stops sending and closes the connection, once the sends in
// progress are confirmed (pkg/notify's Close). Only the Notifier New
// returned owns it; one from As shares it.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	return n.root.Close()
}

// As returns a Notifier whose instance notifications are published by
// source (SourceAPI, SourceCompute), sharing n's connection.
func (n *Notifier) As(source string) *Notifier {
	if n == nil {
		return nil
	}
	c := *n
	c.source = source
	return &c
}

// sendCtx bounds a send by the timeout, whatever becomes of ctx: a
// notification of work done is sent even when the request that did it
// ended.
func (n *Notifier) sendCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), n.timeout)
}

// emit sends a versioned notification built by novaobj.NewMessage.
func (n *Notifier) emit(ctx context.Context, priority string, et novaobj.EventType, pub novaobj.NotificationPublisher, payload any) {
	if n.versioned == nil {
		return
	}
	m, err := novaobj.NewMessage(priority, et, pub, payload)
	if err != nil {
		n.log.Error("notifications: cannot build a versioned notification", "event_type", et.String(), "error", err)
		return
	}
	sctx, cancel := n.sendCtx(ctx)
	defer cancel()
	// pkg/notify logs and counts a failure; the operation goes on.
	_ = n.versioned.Prepare(m.PublisherID).Notify(sctx, notify.Priority(m.Priority), m.EventType, m.Payload)
}

// emitLegacy sends an unversioned notification.
func (n *Notifier) emitLegacy(ctx context.Context, p notify.Priority, publisherID, eventType string, payload map[string]any) {
	if n.legacy == nil {
		return
	}
	sctx, cancel := n.sendCtx(ctx)
	defer cancel()
	_ = n.legacy.Prepare(publisherID).Notify(sctx, p, eventType, payload)
}
