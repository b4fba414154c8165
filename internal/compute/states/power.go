package states

import "strconv"

// PowerState is nova's power state code of an instance as the hypervisor
// reports it (nova/compute/power_state.py). The numeric values are stored in
// instances.power_state and sent over RPC.
type PowerState int

// nova's power states. Codes 2 and 5 (BLOCKED, SHUTOFF) were retired by nova.
const (
	PowerNoState   PowerState = 0
	PowerRunning   PowerState = 1
	PowerPaused    PowerState = 3
	PowerShutdown  PowerState = 4
	PowerCrashed   PowerState = 6
	PowerSuspended PowerState = 7
)

// String returns nova's display name of the state (power_state.STATE_MAP):
// "pending", "running", "paused", "shutdown", "crashed", "suspended".
func (p PowerState) String() string {
	switch p {
	case PowerNoState:
		return "pending"
	case PowerRunning:
		return "running"
	case PowerPaused:
		return "paused"
	case PowerShutdown:
		return "shutdown"
	case PowerCrashed:
		return "crashed"
	case PowerSuspended:
		return "suspended"
	}
	return "PowerState(" + strconv.Itoa(int(p)) + ")"
}

// Valid reports whether p is one of nova's power states.
func (p PowerState) Valid() bool {
	switch p {
	case PowerNoState, PowerRunning, PowerPaused, PowerShutdown, PowerCrashed, PowerSuspended:
		return true
	}
	return false
}
