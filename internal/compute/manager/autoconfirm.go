package manager

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// PollUnconfirmedResizes is nova's _poll_unconfirmed_resizes: an instance of
// this host (the destination) in vm_state resized with no task whose last
// change is ResizeConfirmWindow old is confirmed as nova-api would confirm
// it: task resize_confirming (a compare-and-set from none, so a user's
// confirm or revert meanwhile wins), the confirmResize action recorded
// under a new request id, and confirm_resize run on the source (here, or
// cast through Peers). It does nothing when the window is 0.
func (m *ComputeManager) PollUnconfirmedResizes(ctx context.Context) error {
	if m.confirmWindow <= 0 {
		return nil
	}
	insts, err := m.store.ListInstances(ctx, computedb.InstanceFilter{Host: m.host, VMState: states.VMResized})
	if err != nil {
		return fmt.Errorf("_poll_unconfirmed_resizes: listing the instances of host %s: %w", m.host, err)
	}
	now := m.clock.Now()
	var errs []error
	for _, in := range insts {
		if in.TaskState != states.TaskNone || in.Resize == nil || !in.Resize.Finished || in.UpdatedAt == nil ||
			now.Sub(*in.UpdatedAt) < m.confirmWindow {
			continue
		}
		if err := m.autoConfirm(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", in.UUID, err))
		}
	}
	return errors.Join(errs...)
}

func (m *ComputeManager) autoConfirm(ctx context.Context, in computedb.Instance) error {
	src, err := m.store.GetNode(ctx, in.Resize.NodeID)
	if err != nil {
		return fmt.Errorf("reading the source node: %w", err)
	}
	task, none := states.TaskResizeConfirming, states.TaskNone
	if _, err := m.store.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{TaskState: &task, ExpectTaskState: &none}); err != nil {
		if errors.Is(err, computedb.ErrConflict) || errors.Is(err, computedb.ErrNotFound) {
			return nil // confirmed, reverted or deleted meanwhile
		}
		return err
	}
	req := "req-" + uuid.NewString()
	if _, err := m.store.StartAction(ctx, computedb.Action{InstanceUUID: in.UUID, Action: "confirmResize", RequestID: req,
		UserID: in.UserID, ProjectID: in.ProjectID}); err != nil {
		m.log.Warn("Recording the automatic confirmResize action failed", "instance_uuid", in.UUID, "error", err)
	}
	m.log.Info("Automatically confirming the resize: resize_confirm_window passed", "instance_uuid", in.UUID,
		"window", m.confirmWindow, "source", src.Host)
	cctx := rpcsvc.NewContext(ctx, rpcsvc.Context{RequestID: req, UserID: in.UserID, ProjectID: in.ProjectID, IsAdmin: true, Roles: []string{"admin"}})
	args := rpcapi.MigrationArgs{Instance: rpcapi.InstanceFrom(in), Migration: rpcapi.Migration{SourceCompute: src.Host,
		SourceNode: src.HypervisorHostname, DestCompute: m.host, DestNode: in.Node, Status: "confirming", MigrationType: "resize"}}
	if src.Host == m.host {
		return (&Endpoint{m: m}).ConfirmResize(cctx, args)
	}
	if m.peers == nil {
		m.revertTask(ctx, in.UUID, task, "the automatic confirm cannot reach the source host "+src.Host)
		return fmt.Errorf("cannot reach the source host %s", src.Host)
	}
	if err := m.peers.MigrationCast(cctx, rpcapi.MethodConfirmResize, src.Host, args); err != nil {
		m.revertTask(ctx, in.UUID, task, "the automatic confirm could not be sent: "+err.Error())
		return err
	}
	return nil
}
