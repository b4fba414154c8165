package manager

import "github.com/gonova/gonova/internal/compute/states"

// buildTasks are the task states of an instance that has not been spawned
// yet: a build_and_run_instance may claim it.
var buildTasks = []states.TaskState{states.TaskNone, states.TaskScheduling, states.TaskBlockDeviceMapping, states.TaskNetworking}

// rebootTasks are the task states a reboot may start from: none (a direct
// cast), or what nova-api set before casting.
var rebootTasks = []states.TaskState{states.TaskNone, states.TaskRebooting, states.TaskRebootingHard, states.TaskRebootPending,
	states.TaskRebootPendingHard, states.TaskRebootStarted, states.TaskRebootStartedHard}
