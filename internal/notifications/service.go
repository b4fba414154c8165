package notifications

import (
	"context"
	"errors"
	"slices"

	"github.com/gonova/gonova/pkg/ovo/novaobj"
	"github.com/gonova/gonova/pkg/registry"
)

// ServiceStore returns s with nova's service notifications: service.create
// after Create, service.update after an Update of disabled, disabled_reason
// or forced_down (nova's Service.save sends none for heartbeats or the
// version), service.delete after Delete. With a nil n it returns s itself.
func ServiceStore(s registry.Store, n *Notifier) registry.Store {
	if n == nil || n.versioned == nil {
		return s
	}
	return &serviceStore{Store: s, n: n}
}

type serviceStore struct {
	registry.Store
	n *Notifier
}

func (s *serviceStore) Create(ctx context.Context, ns registry.NewService) (registry.Service, error) {
	row, err := s.Store.Create(ctx, ns)
	if err == nil {
		s.n.Service(ctx, novaobj.ActionCreate, row)
	}
	return row, err
}

func (s *serviceStore) Update(ctx context.Context, id int64, u registry.Update) (registry.Service, error) {
	row, err := s.Store.Update(ctx, id, u)
	if err == nil && (u.Disabled != nil || u.DisabledReason != nil || u.ForcedDown != nil) {
		s.n.Service(ctx, novaobj.ActionUpdate, row)
	}
	return row, err
}

func (s *serviceStore) Delete(ctx context.Context, id int64) error {
	row, gerr := s.Store.Get(ctx, id)
	err := s.Store.Delete(ctx, id)
	if err == nil && gerr == nil {
		s.n.Service(ctx, novaobj.ActionDelete, row)
	} else if err == nil && !errors.Is(gerr, registry.ErrNotFound) {
		s.n.log.Warn("notifications: service deleted, but reading it for service.delete failed", "service_id", id, "error", gerr)
	}
	return err
}

// Service sends service.<action> (create, update, delete) for row, as
// nova's Service._send_notification: ServiceStatusPayload of the row,
// published by the row's own binary and host. A binary that is not one of
// nova's notification sources sends nothing.
func (n *Notifier) Service(ctx context.Context, action string, row registry.Service) {
	if n == nil || n.versioned == nil {
		return
	}
	source := row.Binary
	if source == registry.BinaryAPI {
		source = novaobj.SourceAPI // nova's get_source_by_binary
	}
	if !slices.Contains(novaobj.NotificationSourceValues, source) {
		n.log.Debug("notifications: no service notification for a binary nova does not know", "binary", row.Binary)
		return
	}
	n.emit(ctx, novaobj.PriorityInfo, novaobj.EventType{Object: "service", Action: action},
		novaobj.NotificationPublisher{Host: row.Host, Source: source}, ServicePayload(row))
}

// ServicePayload is nova's ServiceStatusPayload of row. availability_zone is
// null: nova's Service object does not load it for these notifications.
func ServicePayload(row registry.Service) *novaobj.ServiceStatusPayload {
	p := &novaobj.ServiceStatusPayload{
		Host: novaobj.Ptr(row.Host), Binary: novaobj.Ptr(row.Binary), ReportCount: row.ReportCount,
		Disabled: row.Disabled, LastSeenUp: row.LastSeenUp, ForcedDown: row.ForcedDown,
		Version: int64(row.Version), UUID: row.UUID,
	}
	if row.Topic != "" {
		p.Topic = novaobj.Ptr(row.Topic)
	}
	if row.DisabledReason != "" {
		p.DisabledReason = novaobj.Ptr(row.DisabledReason)
	}
	return p
}
