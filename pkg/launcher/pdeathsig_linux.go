package launcher

import "syscall"

// setPdeathsig asks Linux to send SIGTERM to the worker when the parent's
// forking thread dies, so workers stop gracefully after a crash of the
// parent.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
