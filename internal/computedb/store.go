package computedb

import (
	"context"
	"errors"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/pyregex"
)

// ErrNotFound means no live row matched.
var ErrNotFound = errors.New("computedb: not found")

// ErrConflict means the row exists already, or its task state was not the one
// the update expected.
var ErrConflict = errors.New("computedb: conflict")

// Node is one compute_nodes row: a hypervisor's capacity and usage.
type Node struct {
	ID                 int64
	UUID               string
	ServiceID          int64 // 0 when unknown
	Host               string
	HypervisorHostname string
	HypervisorType     string
	HypervisorVersion  int64
	HostIP             string
	VCPUs              int
	VCPUsUsed          int
	MemoryMB           int64
	MemoryMBUsed       int64
	LocalGB            int64
	LocalGBUsed        int64
	FreeRAMMB          int64
	FreeDiskGB         int64
	RunningVMs         int
	CurrentWorkload    int
	DiskAvailableLeast int64
	CPUInfo            string
	// The allocation ratios and reserved amounts claims are checked
	// against (see Free). MemoryMBUsed and LocalGBUsed include the reserved
	// amounts, as nova's resource tracker counts them; VCPUsUsed does not.
	CPUAllocationRatio  float64
	RAMAllocationRatio  float64
	DiskAllocationRatio float64
	VCPUsReserved       int
	MemoryMBReserved    int64
	LocalGBReserved     int64
	CreatedAt           time.Time
	UpdatedAt           *time.Time
}

// Instance is one instances row.
type Instance struct {
	ID           int64
	UUID         string
	DisplayName  string
	UserID       string
	ProjectID    string
	Host         string // empty until scheduled
	Node         string
	VMState      states.VMState    // building until the compute spawns it
	TaskState    states.TaskState  // states.TaskNone is NULL
	PowerState   states.PowerState // what the compute last saw
	FlavorID     string
	VCPUs        int
	MemoryMB     int64
	RootGB       int64
	ImageRef     string
	LaunchedAt   *time.Time
	TerminatedAt *time.Time
	CreatedAt    time.Time
	UpdatedAt    *time.Time
	// Metadata is the server's metadata (key/value strings); never nil on a
	// stored row.
	Metadata map[string]string
	// Fault is why the instance went to ERROR, or nil.
	Fault *Fault

	// AvailabilityZone is the zone the boot asked for ("" for none), as
	// nova's instances.availability_zone; the zone a server shows once
	// placed is its host's (the aggregates'). The scheduler places it on
	// a host of that zone.
	AvailabilityZone string
	// Description is nova's display_description (2.19); "" is none.
	Description string
	// Hostname is nova's hostname (2.3, settable from 2.90);
	// ReservationID the r-xxxxxxxx id of the create request.
	Hostname      string
	ReservationID string
	// Locked is nova's instances.locked: a locked server refuses actions
	// from non-admins. LockedBy is who locked it ("owner" or "admin", empty
	// when unlocked), LockedReason the 2.73 reason (empty: none).
	Locked       bool
	LockedBy     string
	LockedReason string
	// Tags are the server's tags (nova 2.26), sorted; never nil on a
	// stored row.
	Tags []string
	// KeyName is the key pair the server was booted with, "" for none.
	KeyName string
	// Flavor is the instance's copy of the rest of its flavor.
	Flavor InstanceFlavor
	// LaunchIndex is the instance's place in its create, 0 to N-1.
	LaunchIndex int
	// Resize is the resize in progress (resize.go), nil when none.
	Resize *Resize
}

// Fault is an instance's latest fault, as nova's servers API shows it.
type Fault struct {
	Code    int
	Message string
	Created time.Time
}

// InstanceUpdate changes the fields that are not nil.
type InstanceUpdate struct {
	Host         *string
	Node         *string
	VMState      *states.VMState
	TaskState    *states.TaskState // states.TaskNone sets NULL
	PowerState   *states.PowerState
	LaunchedAt   *time.Time
	TerminatedAt *time.Time
	// Fault records why the instance failed (its Created is set by the
	// store when zero).
	Fault *Fault
	// ExpectTaskState, when not nil, makes the update conditional: it applies
	// only while the row's task state equals it (states.TaskNone meaning
	// none).
	ExpectTaskState *states.TaskState
	// DisplayName, Description, ImageRef and Metadata (replacing all of
	// it) are what a rebuild or an update changes.
	DisplayName *string
	Description *string
	Hostname    *string
	ImageRef    *string
	// KeyName is the key pair a rebuild (2.54) gives the server; "" none.
	KeyName  *string
	Metadata *map[string]string
	// Locked, LockedBy and LockedReason set the lock ("" clears LockedBy
	// and LockedReason).
	Locked       *bool
	LockedBy     *string
	LockedReason *string
}

// InstanceFilter selects instances, as nova's
// instance_get_all_by_filters_sort does (filter.go has the rules). The zero
// value lists every live instance, newest first (created_at, then id,
// descending).
type InstanceFilter struct {
	ProjectID string // empty: every project
	Host      string // empty: every host
	// VMState and TaskState, when not empty, select instances in that
	// vm_state and that task state (the sweeps of stuck builds).
	VMState   states.VMState
	TaskState states.TaskState
	Limit     int // 0: no limit
	// Marker is the uuid of the last instance of the previous page: the
	// list starts after it in the sort order. It may name any instance,
	// deleted or of another project, as in nova; one that does not exist
	// is ErrNotFound.
	Marker string

	// Exact maps a column to the values it must equal one of (nova's
	// exact filters: uuid, user_id, project_id, host, vm_state,
	// task_state, flavor_id, image_ref). An empty list matches nothing;
	// NULL equals nothing.
	Exact map[Column][]string
	// Regex maps a column to a pattern its text must contain a match of
	// (nova's regex filters: display_name, node, power_state, the
	// timestamps as 'YYYY-MM-DD HH:MM:SS', availability_zone). NULL
	// matches nothing.
	Regex map[Column]*pyregex.Regex
	// ChangesSince and ChangesBefore bound updated_at (inclusive); a row
	// never updated has none and is left out.
	ChangesSince, ChangesBefore *time.Time
	// Deleted and SoftDeleted choose live and deleted rows.
	Deleted     DeletedFilter
	SoftDeleted SoftDeletedFilter
	// Locked, when set, keeps the instances whose lock is *Locked (nova's
	// locked filter, 2.73).
	Locked *bool
	// Tags (all of them), TagsAny (one of them), NotTags (not all of them)
	// and NotTagsAny (none of them) filter by server tags, nova's 2.26
	// filters.
	Tags, TagsAny, NotTags, NotTagsAny []string
	// Sort is the order, DefaultSort when empty; id is appended (in the
	// first key's direction) when missing, so the order is total.
	Sort []SortKey
}

// Store is the compute data store. Implementations are safe for concurrent use.
type Store interface {
	// UpsertNode writes the node of (Host, HypervisorHostname), creating it
	// with a new UUID when it does not exist, and returns the stored row.
	UpsertNode(ctx context.Context, n Node) (Node, error)
	ListNodes(ctx context.Context) ([]Node, error)
	GetNode(ctx context.Context, id int64) (Node, error)

	// CreateInstance stores a new instance; an existing UUID is ErrConflict.
	CreateInstance(ctx context.Context, in Instance) (Instance, error)
	GetInstance(ctx context.Context, uuid string) (Instance, error)
	// ListInstances returns the instances f selects, in f's order. An
	// unknown marker is ErrNotFound.
	ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error)
	UpdateInstance(ctx context.Context, uuid string, u InstanceUpdate) (Instance, error)
	// DeleteInstance soft-deletes: the row (vm_state deleted, updated_at
	// and terminated_at set) disappears from Get, and from List unless the
	// filter asks for deleted rows. The instance's claim, if it holds one,
	// is released in the same statement.
	DeleteInstance(ctx context.Context, uuid string) error
	// CountInstancesByHost counts live instances on host.
	CountInstancesByHost(ctx context.Context, host string) (int, error)
	// DeleteNodesByHost soft-deletes the compute nodes of host (when its
	// compute service is deleted) and returns how many there were.
	DeleteNodesByHost(ctx context.Context, host string) (int, error)

	// ClaimInstance makes the instance hold its flavor's vcpus, memory and
	// root disk on a node, atomically: the node's usage grows only while it
	// stays within Free, and the instance's host and node become the
	// node's. A claim the instance already holds on that node succeeds
	// again without counting twice. Errors: ErrNotFound (no live instance),
	// ErrNodeNotFound, ErrConflict (a claim on another node, or a task state
	// other than ExpectTaskState), *InsufficientResourcesError.
	ClaimInstance(ctx context.Context, r ClaimRequest) (Instance, error)
	// ReleaseClaim gives back what the instance holds, live or deleted,
	// exactly once: it reports whether this call released it (false when
	// there was no claim, or a concurrent call released it first).
	ReleaseClaim(ctx context.Context, uuid string) (bool, error)
	// ReportNode is nova-compute's write of its node: as UpsertNode for the
	// capacity, reserved amounts and hypervisor details, but the usage
	// (vcpus_used, memory_mb_used, local_gb_used, free_*, running_vms) is
	// recomputed from the claims held on the node, under the node's row
	// lock, so a report never undoes a concurrent claim. A ratio > 0 in n is
	// written (nova's *_allocation_ratio); a zero one keeps the node's, or
	// takes initial's on a new node (nova's initial_*_allocation_ratio; 1.0
	// when that is zero too).
	ReportNode(ctx context.Context, n Node, initial AllocationRatios) (Node, error)

	// AggregateStore: host aggregates (aggregates.go).
	AggregateStore
	// ActionStore: instance actions and their events (actions.go).
	ActionStore
	// EditInstance changes a live instance's metadata and tags under its
	// row lock (see InstanceEdit).
	EditInstance(ctx context.Context, uuid string, edit InstanceEdit) (Instance, error)

	FlavorStore
	KeyPairStore
	// Quotas (quota.go).
	//
	// ListQuotas returns the limits stored for project: its own (UserID
	// "") and its users'.
	ListQuotas(ctx context.Context, project string) ([]QuotaRow, error)
	// SetQuotas stores limits for project (user "") or for one user in it,
	// in one transaction; resources not in limits keep their rows.
	SetQuotas(ctx context.Context, project, user string, limits QuotaLimits) error
	// DeleteQuotas removes the limits of one user of project, or with user
	// "" every limit of the project and of its users (nova's
	// destroy_all_by_project).
	DeleteQuotas(ctx context.Context, project, user string) error
	// CountUsage counts the live instances, their vcpus and memory, and the
	// server groups of project, or of one user in it.
	CountUsage(ctx context.Context, project, user string) (Usage, error)
	// CreateInstanceInQuota is CreateInstance checking the project's (and
	// the user's) instances, cores and ram quotas in the same transaction,
	// serialised per project across processes, and, with q.Group, adding
	// the instance to that server group (ErrNotFound when there is none)
	// within its members quota. A refusal is an *OverQuotaError.
	CreateInstanceInQuota(ctx context.Context, in Instance, q InstanceQuota) (Instance, error)
	// ListQuotaClass returns the limits stored for the quota class name
	// (os-quota-class-sets); the class DefaultQuotaClass overrides the
	// defaults every quota check is given.
	ListQuotaClass(ctx context.Context, name string) (QuotaLimits, error)
	// SetQuotaClass stores limits for the quota class name.
	SetQuotaClass(ctx context.Context, name string, limits QuotaLimits) error

	// Server groups (servergroups.go).
	//
	// CreateServerGroup stores a new group (its UUID set when empty),
	// checking the project's and user's server_groups quota against the
	// stored limits over defaults in the same transaction; nil defaults
	// skip the check.
	CreateServerGroup(ctx context.Context, g ServerGroup, defaults QuotaLimits) (ServerGroup, error)
	GetServerGroup(ctx context.Context, uuid string) (ServerGroup, error)
	// ListServerGroups returns the groups of project (every project's for
	// ""), oldest first.
	ListServerGroups(ctx context.Context, project string) ([]ServerGroup, error)
	// DeleteServerGroup deletes the group for good.
	DeleteServerGroup(ctx context.Context, uuid string) error
	// ServerGroupOfInstance returns the group the instance is a member of,
	// or ErrNotFound.
	ServerGroupOfInstance(ctx context.Context, instanceUUID string) (ServerGroup, error)

	// ListActiveInWindow returns the instances simple tenant usage
	// reports (usage.go).
	ListActiveInWindow(ctx context.Context, w UsageWindow) ([]Instance, error)
	// ResizeStore: the second claim of a resize (resize.go).
	ResizeStore
}
