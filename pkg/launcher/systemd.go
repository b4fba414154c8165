package launcher

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify sends state to systemd when NOTIFY_SOCKET is set.
func sdNotify(log *slog.Logger, state string) {
	sent, err := daemon.SdNotify(false, state)
	switch {
	case err != nil:
		log.Warn("systemd notify failed", "state", state, "err", err)
	case sent:
		log.Debug("systemd notified", "state", state)
	}
}

// startWatchdog pings systemd at half of WATCHDOG_USEC until ctx ends.
func startWatchdog(ctx context.Context, log *slog.Logger, wg *sync.WaitGroup) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog setting unusable", "err", err)
		return
	}
	if interval <= 0 {
		return
	}
	log.Info("systemd watchdog enabled", "interval", interval)
	wg.Go(func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			sdNotify(log, daemon.SdNotifyWatchdog)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}
