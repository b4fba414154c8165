//go:build !linux

package launcher

import "syscall"

// setPdeathsig does nothing here; workers rely on the parent pid check.
func setPdeathsig(*syscall.SysProcAttr) {}
