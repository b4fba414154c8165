package servicegroup

import (
	"log/slog"
	"time"

	"github.com/gonova/gonova/pkg/registry"
)

// IsUp reports whether svc is up at dbNow, as nova's db driver decides: not
// forced down, and its last heartbeat (last_seen_up, or created_at before the
// first) at most serviceDownTime away from dbNow. As in nova the distance is
// absolute, so a stamp slightly in the future counts as fresh. dbNow must come
// from the same clock that stamped the row: the "now" registry.Store.List
// returns.
func IsUp(svc registry.Service, dbNow time.Time, serviceDownTime time.Duration) bool {
	if svc.ForcedDown {
		return false
	}
	last := svc.CreatedAt
	if svc.LastSeenUp != nil {
		last = *svc.LastSeenUp
	}
	elapsed := dbNow.Sub(last)
	if elapsed < 0 {
		elapsed = -elapsed
	}
	return elapsed <= serviceDownTime
}

// EffectiveServiceDownTime returns the service_down_time to use. As in nova,
// when serviceDownTime is not longer than reportInterval, a service would
// flap between reports, so it becomes int(2.5 x report_interval) seconds and a
// warning is logged on log (nil: slog.Default()). For sub-second intervals
// (tests) the product is kept exact instead of truncated to 0 s.
func EffectiveServiceDownTime(serviceDownTime, reportInterval time.Duration, log *slog.Logger) time.Duration {
	if serviceDownTime > reportInterval {
		return serviceDownTime
	}
	eff := reportInterval * 5 / 2
	if eff >= time.Second {
		eff = eff.Truncate(time.Second)
	}
	if log == nil {
		log = slog.Default()
	}
	log.Warn("report_interval must be less than service_down_time; using 2.5 x report_interval",
		"service_down_time", serviceDownTime, "report_interval", reportInterval, "new_service_down_time", eff)
	return eff
}
