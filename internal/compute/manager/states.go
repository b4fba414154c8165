package manager

// nova's vm_states (nova/compute/vm_states.py) and task_states
// (nova/compute/task_states.py) that this manager reads or writes. A task
// state of "" is nova's None.
const (
	vmActive    = "active"
	vmBuilding  = "building"
	vmStopped   = "stopped"
	vmError     = "error"
	vmDeleted   = "deleted"
	vmPaused    = "paused"
	vmSuspended = "suspended"

	taskNone               = ""
	taskScheduling         = "scheduling"
	taskBlockDeviceMapping = "block_device_mapping"
	taskNetworking         = "networking"
	taskSpawning           = "spawning"
	taskDeleting           = "deleting"
	taskRebooting          = "rebooting"
	taskRebootingHard      = "rebooting_hard"
	taskRebootPending      = "reboot_pending"
	taskRebootPendingHard  = "reboot_pending_hard"
	taskRebootStarted      = "reboot_started"
	taskRebootStartedHard  = "reboot_started_hard"
)

// knownVMStates are the label values of gonova_compute_instances, created at
// zero: nova's vm_states. Any other value is counted as "other".
var knownVMStates = []string{
	vmActive, vmBuilding, vmPaused, vmSuspended, vmStopped, "rescued", "resized",
	"soft-delete", vmDeleted, vmError, "shelved", "shelved_offloaded",
}

// buildTasks are the task states of an instance that has not been spawned
// yet: a build_and_run_instance may claim it.
var buildTasks = []string{taskNone, taskScheduling, taskBlockDeviceMapping, taskNetworking}

// rebootTasks are the task states a reboot may start from: none (a direct
// cast), or what nova-api set before casting.
var rebootTasks = []string{taskNone, taskRebooting, taskRebootingHard, taskRebootPending,
	taskRebootPendingHard, taskRebootStarted, taskRebootStartedHard}
