package computedb

import (
	"cmp"
	"time"
)

// UsageWindow selects the instances nova's simple tenant usage reports
// (instance_get_active_by_window_joined): live or deleted, launched before
// End and not terminated by Begin, of ProjectID (every project's when
// empty), ordered by project and uuid, a page of Limit (0: all) after
// Marker (any instance's uuid, deleted or not; one that names none is
// ErrNotFound).
type UsageWindow struct {
	Begin, End time.Time
	ProjectID  string
	Limit      int
	Marker     string
}

func (w UsageWindow) has(in *Instance) bool {
	return (in.TerminatedAt == nil || in.TerminatedAt.After(w.Begin)) && in.LaunchedAt != nil && in.LaunchedAt.Before(w.End) &&
		(w.ProjectID == "" || in.ProjectID == w.ProjectID)
}

func usageOrder(a, b *Instance) int {
	if c := cmp.Compare(a.ProjectID, b.ProjectID); c != 0 {
		return c
	}
	return cmp.Compare(a.UUID, b.UUID)
}

func checkUsageWindow(w UsageWindow) error {
	return checkReadIDs(w.ProjectID, w.Marker)
}
