package computedb

import (
	"context"
	"slices"
)

// ListActiveInWindow implements Store.
func (m *Mem) ListActiveInWindow(_ context.Context, w UsageWindow) ([]Instance, error) {
	if err := checkUsageWindow(w); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var marker *Instance
	if w.Marker != "" {
		canon, _ := canonicalUUID(w.Marker)
		if marker = m.instances[canon]; marker == nil {
			if marker = m.gone[canon]; marker == nil {
				return nil, ErrNotFound
			}
		}
	}
	var rows []*Instance
	for _, set := range []map[string]*Instance{m.instances, m.gone} {
		for _, in := range set {
			if w.has(in) && (marker == nil || usageOrder(in, marker) > 0) {
				rows = append(rows, in)
			}
		}
	}
	slices.SortFunc(rows, usageOrder)
	if w.Limit > 0 && len(rows) > w.Limit {
		rows = rows[:w.Limit]
	}
	out := make([]Instance, len(rows))
	for i, in := range rows {
		out[i] = snapshot(in)
	}
	return out, nil
}
