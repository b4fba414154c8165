package states

// Status is a server's status as nova's API shows it, derived from its vm
// and task state.
type Status string

// nova's API statuses.
const (
	StatusActive           Status = "ACTIVE"
	StatusBuild            Status = "BUILD"
	StatusReboot           Status = "REBOOT"
	StatusHardReboot       Status = "HARD_REBOOT"
	StatusPassword         Status = "PASSWORD"
	StatusRebuild          Status = "REBUILD"
	StatusMigrating        Status = "MIGRATING"
	StatusResize           Status = "RESIZE"
	StatusVerifyResize     Status = "VERIFY_RESIZE"
	StatusRevertResize     Status = "REVERT_RESIZE"
	StatusShutoff          Status = "SHUTOFF"
	StatusPaused           Status = "PAUSED"
	StatusSuspended        Status = "SUSPENDED"
	StatusRescue           Status = "RESCUE"
	StatusError            Status = "ERROR"
	StatusDeleted          Status = "DELETED"
	StatusSoftDeleted      Status = "SOFT_DELETED"
	StatusShelved          Status = "SHELVED"
	StatusShelvedOffloaded Status = "SHELVED_OFFLOADED"
	// StatusUnknown is a vm state nova does not know.
	StatusUnknown Status = "UNKNOWN"
)

// statusMap is nova's _STATE_MAP (nova/api/openstack/common.py): vm_state,
// then task_state (TaskNone for the default) to the API status.
var statusMap = map[VMState]map[TaskState]Status{
	VMActive: {
		TaskNone:      StatusActive,
		TaskRebooting: StatusReboot, TaskRebootPending: StatusReboot, TaskRebootStarted: StatusReboot,
		TaskRebootingHard: StatusHardReboot, TaskRebootPendingHard: StatusHardReboot, TaskRebootStartedHard: StatusHardReboot,
		TaskUpdatingPassword: StatusPassword,
		TaskRebuilding:       StatusRebuild, TaskRebuildBlockDeviceMapping: StatusRebuild, TaskRebuildSpawning: StatusRebuild,
		TaskMigrating:  StatusMigrating,
		TaskResizePrep: StatusResize, TaskResizeMigrating: StatusResize, TaskResizeMigrated: StatusResize, TaskResizeFinish: StatusResize,
	},
	VMBuilding: {TaskNone: StatusBuild},
	VMStopped: {
		TaskNone:       StatusShutoff,
		TaskResizePrep: StatusResize, TaskResizeMigrating: StatusResize, TaskResizeMigrated: StatusResize, TaskResizeFinish: StatusResize,
		TaskRebuilding: StatusRebuild, TaskRebuildBlockDeviceMapping: StatusRebuild, TaskRebuildSpawning: StatusRebuild,
	},
	VMResized:   {TaskNone: StatusVerifyResize, TaskResizeReverting: StatusRevertResize},
	VMPaused:    {TaskNone: StatusPaused, TaskMigrating: StatusMigrating},
	VMSuspended: {TaskNone: StatusSuspended},
	VMRescued:   {TaskNone: StatusRescue},
	VMError: {
		TaskNone:       StatusError,
		TaskRebuilding: StatusRebuild, TaskRebuildBlockDeviceMapping: StatusRebuild, TaskRebuildSpawning: StatusRebuild,
	},
	VMDeleted:          {TaskNone: StatusDeleted},
	VMSoftDeleted:      {TaskNone: StatusSoftDeleted},
	VMShelved:          {TaskNone: StatusShelved},
	VMShelvedOffloaded: {TaskNone: StatusShelvedOffloaded},
}

// ServerStatus is nova's status_from_state: the API status of an instance in
// vm state vm with task task. A task without a status of its own shows the vm
// state's; an unknown vm state is UNKNOWN.
//
//	states.ServerStatus(states.VMActive, states.TaskRebootingHard) // HARD_REBOOT
func ServerStatus(vm VMState, task TaskState) Status {
	m, ok := statusMap[vm]
	if !ok {
		return StatusUnknown
	}
	if s, ok := m[task]; ok {
		return s
	}
	return m[TaskNone]
}
