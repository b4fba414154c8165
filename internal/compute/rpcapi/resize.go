package rpcapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gonova/gonova/internal/computedb"
)

// The resize methods, nova's 6.0 methods at nova's versions, served from
// service version 4 (versions.Resize). A resize goes nova-api ->
// prep_resize (destination) -> resize_instance (source) -> finish_resize
// (destination); confirm_resize goes to the source, revert_resize to the
// destination and on to finish_revert_resize (source).
const (
	MethodPrepResize         = "prep_resize"
	MethodResizeInstance     = "resize_instance"
	MethodFinishResize       = "finish_resize"
	MethodConfirmResize      = "confirm_resize"
	MethodRevertResize       = "revert_resize"
	MethodFinishRevertResize = "finish_revert_resize"
)

func init() {
	for _, m := range []string{MethodPrepResize, MethodResizeInstance, MethodFinishResize, MethodConfirmResize,
		MethodRevertResize, MethodFinishRevertResize} {
		methodVersions[m] = "6.0"
	}
}

// Flavor is a flavor as the resize methods carry it (nova's Flavor object's
// fields gonova uses, under nova's names).
type Flavor struct {
	FlavorID string `json:"flavorid"`
	Name     string `json:"name,omitempty"`
	VCPUs    int    `json:"vcpus"`
	MemoryMB int64  `json:"memory_mb"`
	RootGB   int64  `json:"root_gb"`
}

// FlavorFrom is the wire form of a flavor's amounts.
func FlavorFrom(f computedb.FlavorAmounts) Flavor {
	return Flavor{FlavorID: f.ID, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB}
}

// Migration is the migration a resize method acts on: nova's Migration
// object's hosts and nodes and status. gonova keeps no migrations table:
// the instance's resize (computedb.Resize) is the record, and this says
// where each hop goes.
type Migration struct {
	SourceCompute string `json:"source_compute"`
	SourceNode    string `json:"source_node"`
	DestCompute   string `json:"dest_compute"`
	DestNode      string `json:"dest_node"`
	Status        string `json:"status"`
	MigrationType string `json:"migration_type"`
}

// PrepResizeArgs are prep_resize's arguments (nova 6.0: instance, image,
// flavor, request_spec, filter_properties, node, migration,
// clean_shutdown, host_list).
type PrepResizeArgs struct {
	Instance         Instance        `json:"instance"`
	Image            map[string]any  `json:"image"`
	Flavor           Flavor          `json:"flavor"`
	RequestSpec      json.RawMessage `json:"request_spec"`
	FilterProperties map[string]any  `json:"filter_properties"`
	Node             string          `json:"node"`
	Migration        Migration       `json:"migration"`
	CleanShutdown    bool            `json:"clean_shutdown"`
	HostList         []any           `json:"host_list"`
}

// ResizeInstanceArgs are resize_instance's arguments (nova 6.0: instance,
// migration, image, flavor, clean_shutdown, request_spec).
type ResizeInstanceArgs struct {
	Instance      Instance        `json:"instance"`
	Migration     Migration       `json:"migration"`
	Image         map[string]any  `json:"image"`
	Flavor        Flavor          `json:"flavor"`
	CleanShutdown bool            `json:"clean_shutdown"`
	RequestSpec   json.RawMessage `json:"request_spec"`
}

// FinishResizeArgs are finish_resize's arguments (nova 6.0: instance,
// migration, image, disk_info, request_spec).
type FinishResizeArgs struct {
	Instance    Instance        `json:"instance"`
	Migration   Migration       `json:"migration"`
	Image       map[string]any  `json:"image"`
	DiskInfo    string          `json:"disk_info"`
	RequestSpec json.RawMessage `json:"request_spec"`
}

// MigrationArgs are the arguments of confirm_resize (nova: instance,
// migration), revert_resize and finish_revert_resize (instance, migration,
// request_spec).
type MigrationArgs struct {
	Instance    Instance        `json:"instance"`
	Migration   Migration       `json:"migration"`
	RequestSpec json.RawMessage `json:"request_spec,omitempty"`
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// PrepResize casts prep_resize to host (the destination).
func (c *Client) PrepResize(ctx context.Context, host string, args PrepResizeArgs) error {
	if err := checkUUID(MethodPrepResize, args.Instance.UUID); err != nil {
		return err
	}
	args.Image, args.FilterProperties = orEmpty(args.Image), orEmpty(args.FilterProperties)
	if args.HostList == nil {
		args.HostList = []any{}
	}
	return c.cast(ctx, MethodPrepResize, host, args)
}

// ResizeInstance casts resize_instance to host (the source).
func (c *Client) ResizeInstance(ctx context.Context, host string, args ResizeInstanceArgs) error {
	if err := checkUUID(MethodResizeInstance, args.Instance.UUID); err != nil {
		return err
	}
	args.Image = orEmpty(args.Image)
	return c.cast(ctx, MethodResizeInstance, host, args)
}

// FinishResize casts finish_resize to host (the destination).
func (c *Client) FinishResize(ctx context.Context, host string, args FinishResizeArgs) error {
	if err := checkUUID(MethodFinishResize, args.Instance.UUID); err != nil {
		return err
	}
	args.Image = orEmpty(args.Image)
	return c.cast(ctx, MethodFinishResize, host, args)
}

// MigrationCast casts confirm_resize (to the source), revert_resize (to
// the destination) or finish_revert_resize (to the source).
func (c *Client) MigrationCast(ctx context.Context, method, host string, args MigrationArgs) error {
	switch method {
	case MethodConfirmResize, MethodRevertResize, MethodFinishRevertResize:
	default:
		return fmt.Errorf("rpcapi: %q is not a method that takes an instance and a migration", method)
	}
	if err := checkUUID(method, args.Instance.UUID); err != nil {
		return err
	}
	if method != MethodConfirmResize && args.RequestSpec == nil {
		args.RequestSpec = json.RawMessage("null") // nova sends one; gonova has none
	}
	return c.cast(ctx, method, host, args)
}
