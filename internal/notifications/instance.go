package notifications

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/notify"
	"github.com/gonova/gonova/pkg/ovo/novaobj"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Event is an instance notification: nova's action and phase.
type Event struct {
	Action string // novaobj.ActionCreate, ActionDelete, ActionReboot
	Phase  string // novaobj.PhaseStart, PhaseEnd, PhaseError
}

// The instance events gonova sends.
var (
	CreateStart = Event{novaobj.ActionCreate, novaobj.PhaseStart}
	CreateEnd   = Event{novaobj.ActionCreate, novaobj.PhaseEnd}
	CreateError = Event{novaobj.ActionCreate, novaobj.PhaseError}
	DeleteStart = Event{novaobj.ActionDelete, novaobj.PhaseStart}
	DeleteEnd   = Event{novaobj.ActionDelete, novaobj.PhaseEnd}
	RebootStart = Event{novaobj.ActionReboot, novaobj.PhaseStart}
	RebootEnd   = Event{novaobj.ActionReboot, novaobj.PhaseEnd}
	RebootError = Event{novaobj.ActionReboot, novaobj.PhaseError}
)

// String is the versioned event type, e.g. "instance.create.end".
func (e Event) String() string { return "instance." + e.Action + "." + e.Phase }

// legacy is the unversioned event type, e.g. "compute.instance.create.end".
func (e Event) legacy() string { return "compute." + e.String() }

// function is the nova method that sends e: an ExceptionPayload's
// function_name.
func (e Event) function() string {
	switch e.Action {
	case novaobj.ActionCreate:
		return "_build_and_run_instance"
	case novaobj.ActionReboot:
		return "reboot_instance"
	}
	return "_delete_instance"
}

// Instance sends the notifications of ev for inst: the versioned one
// (InstanceCreatePayload for create, InstanceActionPayload otherwise;
// priority error with cause as its fault when cause is not nil) and the
// legacy one, as notification_format says. For DeleteEnd, inst is marked
// deleted as nova's row is when it sends it: vm_state deleted, no task,
// terminated_at (now unless set) and deleted_at.
func (n *Notifier) Instance(ctx context.Context, ev Event, inst computedb.Instance, cause error) {
	if n == nil {
		return
	}
	var deletedAt *time.Time
	if ev == DeleteEnd {
		inst.VMState, inst.TaskState = states.VMDeleted, states.TaskNone
		if inst.TerminatedAt == nil {
			now := n.clock.Now().UTC()
			inst.TerminatedAt = &now
		}
		deletedAt = inst.TerminatedAt
	}
	if n.versioned != nil {
		priority, fault := novaobj.PriorityInfo, (*novaobj.ExceptionPayload)(nil)
		if cause != nil {
			priority, fault = novaobj.PriorityError, n.exceptionPayload(ev, cause)
		}
		p := n.instancePayload(ctx, inst, deletedAt)
		var payload any = &novaobj.InstanceActionPayload{InstancePayload: p, Fault: fault}
		if ev.Action == novaobj.ActionCreate {
			payload = &novaobj.InstanceCreatePayload{
				InstanceActionPayload:    novaobj.InstanceActionPayload{InstancePayload: p, Fault: fault},
				Keypairs:                 []*novaobj.KeypairPayload{},
				Tags:                     []string{},
				TrustedImageCertificates: nil,
				InstanceName:             novaobj.Ptr(InstanceName(inst)),
			}
		}
		n.emit(ctx, priority, novaobj.EventType{Object: "instance", Action: ev.Action, Phase: novaobj.Ptr(ev.Phase)},
			novaobj.NotificationPublisher{Host: n.host, Source: n.source}, payload)
	}
	if n.legacy != nil {
		p := n.legacyPayload(inst, deletedAt)
		priority := notify.Info
		switch ev {
		case CreateStart:
			p["image_name"] = nil // gonova knows no image names
		case CreateEnd:
			p["message"] = "Success"
			p["fixed_ips"] = []any{} // no networks
		}
		if cause != nil {
			priority = notify.Error
			msg := cause.Error()
			if len([]rune(msg)) > 255 {
				msg = string([]rune(msg)[:255])
			}
			p["exception"], p["message"], p["code"] = cause.Error(), msg, 500
		}
		// nova's get_notifier('compute', host): compute.<host>.
		n.emitLegacy(ctx, priority, "compute."+n.host, ev.legacy(), p)
	}
}

// InstanceByUUID is Instance for the instance's row as the store has it
// now; an instance the store no longer has sends nothing.
func (n *Notifier) InstanceByUUID(ctx context.Context, ev Event, uuid string, cause error) {
	if n == nil || n.instances == nil {
		return
	}
	rctx, cancel := n.sendCtx(ctx)
	defer cancel()
	inst, err := n.instances.GetInstance(rctx, uuid)
	if err != nil {
		if !errors.Is(err, computedb.ErrNotFound) {
			n.log.Warn("notifications: cannot read the instance for "+ev.String(), "instance_uuid", uuid, "error", err)
		}
		return
	}
	n.Instance(ctx, ev, inst, cause)
}

// Rebooted sends what nova's reboot_instance sends once the driver returned:
// reboot.error (with cause) then reboot.end when the reboot failed but the
// guest runs, reboot.end when it succeeded, nothing when it failed and the
// guest is not running (nova raises then).
func (n *Notifier) Rebooted(ctx context.Context, uuid string, cause error, running bool) {
	if n == nil {
		return
	}
	if cause != nil && !running {
		return
	}
	if cause != nil {
		n.InstanceByUUID(ctx, RebootError, uuid, cause)
	}
	n.InstanceByUUID(ctx, RebootEnd, uuid, nil)
}

// InstanceName is nova's instance name (instance_name_template's default,
// "instance-%08x" of the row id).
func InstanceName(inst computedb.Instance) string { return fmt.Sprintf("instance-%08x", inst.ID) }

func (n *Notifier) flavor(inst computedb.Instance) Flavor {
	if n.flavors != nil {
		if f, ok := n.flavors(inst.FlavorID); ok {
			return f
		}
	}
	return Flavor{ID: inst.FlavorID, MemoryMB: inst.MemoryMB, VCPUs: int64(inst.VCPUs), RootGB: inst.RootGB, RxtxFactor: 1.0, IsPublic: true}
}

// instancePayload is nova's InstancePayload of inst, with the request
// context's request id and initiator.
func (n *Notifier) instancePayload(ctx context.Context, inst computedb.Instance, deletedAt *time.Time) novaobj.InstancePayload {
	f := n.flavor(inst)
	fp := &novaobj.FlavorPayload{
		FlavorID: novaobj.Ptr(f.ID), MemoryMB: novaobj.Ptr(inst.MemoryMB), VCPUs: novaobj.Ptr(int64(inst.VCPUs)),
		RootGB: novaobj.Ptr(inst.RootGB), EphemeralGB: novaobj.Ptr(f.EphemeralGB), Name: f.Name, Swap: f.Swap,
		RxtxFactor: novaobj.Ptr(f.RxtxFactor), Disabled: f.Disabled, IsPublic: f.IsPublic,
		ExtraSpecs: map[string]string{}, // projects, vcpu_weight, description: null, as on nova's embedded flavor
	}
	p := novaobj.InstancePayload{
		UUID: inst.UUID, UserID: strOrNil(inst.UserID), TenantID: strOrNil(inst.ProjectID),
		DisplayName: novaobj.Ptr(inst.DisplayName), Host: strOrNil(inst.Host), Node: strOrNil(inst.Node),
		Flavor: fp, ImageUUID: strOrNil(inst.ImageRef), KernelID: novaobj.Ptr(""), RamdiskID: novaobj.Ptr(""),
		CreatedAt: utc(&inst.CreatedAt), LaunchedAt: utc(inst.LaunchedAt), TerminatedAt: utc(inst.TerminatedAt),
		DeletedAt: utc(deletedAt), UpdatedAt: utc(inst.UpdatedAt),
		State: novaobj.Ptr(string(inst.VMState)), PowerState: powerState(inst.PowerState),
		TaskState: strOrNil(string(inst.TaskState)), Progress: novaobj.Ptr(int64(0)),
		IPAddresses: []*novaobj.IpPayload{}, BlockDevices: []*novaobj.BlockDevicePayload{},
		Metadata: inst.Metadata, Locked: false, AutoDiskConfig: "MANUAL",
	}
	if p.Metadata == nil {
		p.Metadata = map[string]string{}
	}
	if inst.CreatedAt.IsZero() {
		p.CreatedAt = nil
	}
	if rc, ok := rpcsvc.ContextFrom(ctx); ok {
		// nova: no request_id without a user and a project (periodic tasks).
		if rc.UserID != "" && rc.ProjectID != "" {
			p.RequestID = strOrNil(rc.RequestID)
		}
		p.ActionInitiatorUser, p.ActionInitiatorProject = strOrNil(rc.UserID), strOrNil(rc.ProjectID)
	}
	return p
}

// exceptionPayload is nova's ExceptionPayload.from_exception for cause.
func (n *Notifier) exceptionPayload(ev Event, cause error) *novaobj.ExceptionPayload {
	module, class := "nova.compute.manager", "Exception"
	if n.source == SourceAPI {
		module = "nova.compute.api"
	}
	var c rpcsvc.Classifier
	if errors.As(cause, &c) {
		if m, k := c.OsloClass(); k != "" {
			module, class = m, k
		}
	}
	return &novaobj.ExceptionPayload{ModuleName: module, FunctionName: ev.function(), Exception: class,
		ExceptionMessage: cause.Error(), Traceback: ""}
}

// legacyPayload is nova's info_from_instance (nova/notifications/base.py)
// of inst: the keys of the unversioned compute.instance.* notifications.
func (n *Notifier) legacyPayload(inst computedb.Instance, deletedAt *time.Time) map[string]any {
	f := n.flavor(inst)
	progress := any("") // nova's legacy default for 0 or none
	md := inst.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{
		"tenant_id": inst.ProjectID, "user_id": inst.UserID,
		"instance_id": inst.UUID, "display_name": inst.DisplayName, "reservation_id": strOrNil(inst.ReservationID), "hostname": nil,
		"instance_type": f.Name, "instance_type_id": nil, "instance_flavor_id": f.ID, "architecture": nil,
		"memory_mb": inst.MemoryMB, "disk_gb": inst.RootGB + f.EphemeralGB, "vcpus": inst.VCPUs,
		"root_gb": inst.RootGB, "ephemeral_gb": f.EphemeralGB,
		"host": strOrNil(inst.Host), "node": strOrNil(inst.Node), "availability_zone": nil, "cell_name": "",
		"created_at":    pyStr(inst.CreatedAt),
		"terminated_at": isotime(inst.TerminatedAt), "deleted_at": isotime(deletedAt), "launched_at": isotime(inst.LaunchedAt),
		"image_ref_url": inst.ImageRef, "os_type": nil, "kernel_id": "", "ramdisk_id": "",
		"state": string(inst.VMState), "state_description": string(inst.TaskState), "progress": progress,
		"access_ip_v4": nil, "access_ip_v6": nil, "image_meta": map[string]string{}, "metadata": md,
	}
}

// powerState is nova's InstancePowerState name of p (its index in the enum).
func powerState(p states.PowerState) *string {
	i := int(p)
	if i < 0 || i >= len(novaobj.InstancePowerStateValues) || !p.Valid() {
		return nil
	}
	return novaobj.Ptr(novaobj.InstancePowerStateValues[i])
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// pyStr is Python's str() of an aware UTC datetime, as nova's legacy
// created_at: "2026-12-01 08:30:15.123456+00:00" (no fraction when zero).
func pyStr(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02 15:04:05.000000") + "+00:00"
}

// isotime is nova's null_safe_isotime: utils.strtime ("%Y-%m-%dT%H:%M:%S.%f")
// or "".
func isotime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}
