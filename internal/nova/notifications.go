package nova

import (
	"context"
	"time"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/pkg/app"
)

// notifierConnectTimeout bounds the notifier's first connection.
const notifierConnectTimeout = 30 * time.Second

// Notifications returns the process's notifier of nova's notifications
// (internal/notifications), built once from [oslo_messaging_notifications]
// and [notifications]: nil, costing nothing, when no driver sends. Building
// it wraps the services store, so that every service row created, updated
// (disabled, forced down) or deleted through this App is announced as nova
// announces it; build it before the services that use the store (the
// NewComputeService and NewAPIService constructors do). It is closed when
// the App closes, before the transport.
func (a *App) Notifications() (*notifications.Notifier, error) {
	if a.notesBuilt {
		return a.notes, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifierConnectTimeout)
	defer cancel()
	n, err := notifications.New(ctx, a.Cfg, notifications.Options{
		Host:       a.Cfg.Default.Host,
		Flavors:    a.flavorByID,
		Instances:  a.Compute,
		Logger:     a.Log,
		Registerer: a.Metrics,
	})
	if err != nil {
		return nil, &app.Error{Code: app.ExitTransport, Err: err}
	}
	a.notes, a.notesBuilt = n, true
	if n != nil {
		a.Services = notifications.ServiceStore(a.Services, n)
		a.OnClose(func() {
			if err := n.Close(); err != nil {
				a.Log.Warn("closing the notifier", "error", err)
			}
		})
	}
	return n, nil
}

// flavorByID looks a flavor up in the store.
func (a *App) flavorByID(id string) (notifications.Flavor, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := a.Compute.GetFlavor(ctx, id, computedb.FlavorScope{Admin: true})
	if err != nil {
		return notifications.Flavor{}, false
	}
	return notifications.Flavor{ID: f.FlavorID, Name: f.Name, MemoryMB: f.MemoryMB, VCPUs: int64(f.VCPUs), RootGB: f.RootGB,
		EphemeralGB: f.EphemeralGB, Swap: f.Swap, RxtxFactor: f.RXTXFactor, IsPublic: f.IsPublic, Disabled: f.Disabled}, true
}
