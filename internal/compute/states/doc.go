// Package states is nova's instance states, defined once: vm states
// (nova/compute/vm_states.py), task states (nova/compute/task_states.py),
// power states (nova/compute/power_state.py) and the API status a server
// shows for a vm and task state (nova's _STATE_MAP in
// nova/api/openstack/common.py).
//
// # Why
//
// The same strings are written by nova-api (internal/compute/api), read and
// written by nova-compute (internal/compute/manager), stored by
// internal/computedb, reported by the virt drivers and rendered by
// internal/api. A typo in any one of them is an instance stuck in a state no
// one else recognises, so every package uses these typed constants and none
// spells a state itself. The values are nova's: they are stored in the
// instances table and cross the wire, so a Python nova reading the same
// database or messages understands them.
//
//	if in.VMState == states.VMActive && in.TaskState == states.TaskNone {
//		fmt.Println(states.ServerStatus(in.VMState, in.TaskState)) // ACTIVE
//	}
//
// # Logging and metrics
//
// None: this package only defines values.
package states
