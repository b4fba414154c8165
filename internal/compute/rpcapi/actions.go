package rpcapi

import (
	"context"
	"encoding/json"
	"fmt"
)

// StopInstanceArgs are stop_instance's arguments (nova: instance,
// clean_shutdown).
type StopInstanceArgs struct {
	Instance      Instance `json:"instance"`
	CleanShutdown bool     `json:"clean_shutdown"`
}

// InstanceArgs are the arguments of the methods that take only the
// instance: start_instance, pause_instance, unpause_instance,
// suspend_instance, resume_instance.
type InstanceArgs struct {
	Instance Instance `json:"instance"`
}

// RebuildInstanceArgs are rebuild_instance's arguments, nova's 6.1 list
// (instance, new_pass, injected_files, image_ref, orig_image_ref,
// orig_sys_metadata, bdms, recreate, on_shared_storage, preserve_ephemeral,
// migration, scheduled_node, limits, request_spec, accel_uuids,
// reimage_boot_volume). gonova acts on Instance, ImageRef and NewPass; the
// others are sent as nova sends them for a rebuild on the same host.
type RebuildInstanceArgs struct {
	Instance          Instance          `json:"instance"`
	NewPass           *string           `json:"new_pass"`
	InjectedFiles     []any             `json:"injected_files"`
	ImageRef          string            `json:"image_ref"`
	OrigImageRef      string            `json:"orig_image_ref"`
	OrigSysMetadata   map[string]string `json:"orig_sys_metadata"`
	BDMs              []any             `json:"bdms"`
	Recreate          bool              `json:"recreate"`
	OnSharedStorage   bool              `json:"on_shared_storage"`
	PreserveEphemeral bool              `json:"preserve_ephemeral"`
	Migration         json.RawMessage   `json:"migration"`
	ScheduledNode     *string           `json:"scheduled_node"`
	Limits            map[string]any    `json:"limits"`
	RequestSpec       json.RawMessage   `json:"request_spec"`
	AccelUUIDs        []string          `json:"accel_uuids"`
	// ReimageBootVolume (6.1) is always false: gonova has no volumes.
	ReimageBootVolume *bool `json:"reimage_boot_volume,omitempty"`
}

// StopInstance casts stop_instance to host (nova's do_cast=True).
func (c *Client) StopInstance(ctx context.Context, host, uuid string, cleanShutdown bool) error {
	if err := checkUUID(MethodStopInstance, uuid); err != nil {
		return err
	}
	return c.cast(ctx, MethodStopInstance, host, StopInstanceArgs{Instance: Instance{UUID: uuid}, CleanShutdown: cleanShutdown})
}

// instanceCasts are the methods InstanceCast sends.
var instanceCasts = map[string]bool{MethodStartInstance: true, MethodPauseInstance: true, MethodUnpauseInstance: true,
	MethodSuspendInstance: true, MethodResumeInstance: true}

// InstanceCast casts one of the methods that take only the instance
// (start_instance, pause_instance, unpause_instance, suspend_instance,
// resume_instance) to host.
func (c *Client) InstanceCast(ctx context.Context, method, host, uuid string) error {
	if !instanceCasts[method] {
		return fmt.Errorf("rpcapi: %q is not a method that takes only the instance", method)
	}
	if err := checkUUID(method, uuid); err != nil {
		return err
	}
	return c.cast(ctx, method, host, InstanceArgs{Instance: Instance{UUID: uuid}})
}

// RebuildInstance casts rebuild_instance to host. Empty lists and maps are
// sent as nova sends them. Under a cap of 6.0 it is sent at 6.0 without
// reimage_boot_volume, as nova's client does (it is never true here).
func (c *Client) RebuildInstance(ctx context.Context, host string, args RebuildInstanceArgs) error {
	if err := checkUUID(MethodRebuildInstance, args.Instance.UUID); err != nil {
		return err
	}
	cl, err := c.current(ctx)
	if err != nil {
		return err
	}
	version := methodVersions[MethodRebuildInstance]
	f := false
	args.ReimageBootVolume = &f
	if !cl.CanSendVersion(version) {
		args.ReimageBootVolume = nil
		version = "6.0"
	}
	if args.InjectedFiles == nil {
		args.InjectedFiles = []any{}
	}
	if args.OrigSysMetadata == nil {
		args.OrigSysMetadata = map[string]string{}
	}
	if args.BDMs == nil {
		args.BDMs = []any{}
	}
	if args.Limits == nil {
		args.Limits = map[string]any{}
	}
	if args.AccelUUIDs == nil {
		args.AccelUUIDs = []string{}
	}
	return c.castAt(ctx, cl, MethodRebuildInstance, version, host, args)
}
