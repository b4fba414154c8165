package states

// VMState is nova's vm_state: the stable state of an instance, what it was
// last left in. It is stored in instances.vm_state.
type VMState string

// nova's vm_states.
const (
	VMActive           VMState = "active"            // running, or ready to run
	VMBuilding         VMState = "building"          // not yet spawned
	VMPaused           VMState = "paused"            // suspended in memory
	VMSuspended        VMState = "suspended"         // suspended to disk
	VMStopped          VMState = "stopped"           // powered off, disk kept
	VMRescued          VMState = "rescued"           // booted from a rescue image
	VMResized          VMState = "resized"           // resized, waiting for confirm or revert
	VMSoftDeleted      VMState = "soft-delete"       // deleted, reclaimable for a while
	VMDeleted          VMState = "deleted"           // gone
	VMError            VMState = "error"             // failed; only delete helps
	VMShelved          VMState = "shelved"           // powered off, kept on its host
	VMShelvedOffloaded VMState = "shelved_offloaded" // powered off, removed from its host
)

// vmStates lists every vm state, in nova's order.
var vmStates = []VMState{
	VMActive, VMBuilding, VMPaused, VMSuspended, VMStopped, VMRescued, VMResized,
	VMSoftDeleted, VMDeleted, VMError, VMShelved, VMShelvedOffloaded,
}

// VMStates returns every vm state, in nova's order (a fresh slice).
func VMStates() []VMState { return append([]VMState(nil), vmStates...) }

// Valid reports whether s is one of nova's vm states.
func (s VMState) Valid() bool {
	for _, v := range vmStates {
		if v == s {
			return true
		}
	}
	return false
}

// The vm states an action is allowed from (nova's vm_states.ALLOW_*).
var (
	// AllowSoftReboot is vm_states.ALLOW_SOFT_REBOOT.
	AllowSoftReboot = []VMState{VMActive}
	// AllowHardReboot is vm_states.ALLOW_HARD_REBOOT.
	AllowHardReboot = []VMState{VMActive, VMStopped, VMPaused, VMSuspended, VMError}
)
