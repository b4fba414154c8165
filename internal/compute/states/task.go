package states

// TaskState is nova's task_state: the operation in progress on an instance.
// TaskNone ("") is nova's None, stored as NULL.
type TaskState string

// nova's task_states.
const (
	TaskNone TaskState = ""

	// Building.
	TaskScheduling         TaskState = "scheduling"
	TaskBlockDeviceMapping TaskState = "block_device_mapping"
	TaskNetworking         TaskState = "networking"
	TaskSpawning           TaskState = "spawning"

	// Snapshots and backups.
	TaskImageSnapshot        TaskState = "image_snapshot"
	TaskImageSnapshotPending TaskState = "image_snapshot_pending"
	TaskImagePendingUpload   TaskState = "image_pending_upload"
	TaskImageUploading       TaskState = "image_uploading"
	TaskImageBackup          TaskState = "image_backup"

	TaskUpdatingPassword TaskState = "updating_password"

	// Resizes.
	TaskResizePrep       TaskState = "resize_prep"
	TaskResizeMigrating  TaskState = "resize_migrating"
	TaskResizeMigrated   TaskState = "resize_migrated"
	TaskResizeFinish     TaskState = "resize_finish"
	TaskResizeReverting  TaskState = "resize_reverting"
	TaskResizeConfirming TaskState = "resize_confirming"

	// Reboots: the API sets rebooting(_hard), the compute moves through
	// reboot_pending(_hard) and reboot_started(_hard).
	TaskRebooting         TaskState = "rebooting"
	TaskRebootPending     TaskState = "reboot_pending"
	TaskRebootStarted     TaskState = "reboot_started"
	TaskRebootingHard     TaskState = "rebooting_hard"
	TaskRebootPendingHard TaskState = "reboot_pending_hard"
	TaskRebootStartedHard TaskState = "reboot_started_hard"

	// Power actions.
	TaskPausing     TaskState = "pausing"
	TaskUnpausing   TaskState = "unpausing"
	TaskSuspending  TaskState = "suspending"
	TaskResuming    TaskState = "resuming"
	TaskPoweringOff TaskState = "powering-off"
	TaskPoweringOn  TaskState = "powering-on"

	// Rescue and rebuild.
	TaskRescuing                  TaskState = "rescuing"
	TaskUnrescuing                TaskState = "unrescuing"
	TaskRebuilding                TaskState = "rebuilding"
	TaskRebuildBlockDeviceMapping TaskState = "rebuild_block_device_mapping"
	TaskRebuildSpawning           TaskState = "rebuild_spawning"

	TaskMigrating TaskState = "migrating"

	// Deletes.
	TaskDeleting     TaskState = "deleting"
	TaskSoftDeleting TaskState = "soft-deleting"
	TaskRestoring    TaskState = "restoring"

	// Shelving.
	TaskShelving                   TaskState = "shelving"
	TaskShelvingImagePendingUpload TaskState = "shelving_image_pending_upload"
	TaskShelvingImageUploading     TaskState = "shelving_image_uploading"
	TaskShelvingOffloading         TaskState = "shelving_offloading"
	TaskUnshelving                 TaskState = "unshelving"
)

// The task states an action is allowed from (nova's task_states.ALLOW_*).
var (
	// AllowReboot is task_states.ALLOW_REBOOT: what a hard reboot may
	// interrupt.
	AllowReboot = []TaskState{TaskNone, TaskRebooting, TaskRebootPending, TaskRebootStarted, TaskResuming,
		TaskRebootingHard, TaskUnpausing, TaskPausing, TaskSuspending}
	// AllowSoftRebootTasks is what nova's reboot accepts for a soft reboot:
	// no task at all.
	AllowSoftRebootTasks = []TaskState{TaskNone}
)
