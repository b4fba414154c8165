package launcher

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// StartError is returned by Run when a service failed to start. The services
// started before it have been stopped, in reverse order.
type StartError struct {
	Service string
	Err     error
}

func (e *StartError) Error() string { return fmt.Sprintf("start %s: %v", e.Service, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// ShutdownTimeoutError is returned by Run when the graceful shutdown timeout
// passed while services (or workers) were still stopping. Services ignoring
// their stop context may still be running: the caller must exit the process.
type ShutdownTimeoutError struct {
	Timeout  time.Duration
	Services []string
}

func (e *ShutdownTimeoutError) Error() string {
	return fmt.Sprintf("graceful shutdown timed out after %s; still stopping: %s", e.Timeout, strings.Join(e.Services, ", "))
}

// ErrSecondSignal is returned by Run when a second SIGTERM or SIGINT arrived
// during a graceful shutdown: the caller exits at once.
var ErrSecondSignal = errors.New("launcher: second stop signal, exiting at once")
