package manager

import (
	"context"
	"fmt"

	"github.com/gonova/gonova/internal/compute/virt"
)

// notImplementedError is Python's NotImplementedError across the wire, as
// nova's base driver raises it for a call the driver lacks.
type notImplementedError struct{ what string }

func (e *notImplementedError) Error() string { return e.what + " is not implemented by this driver" }

// OsloClass names the Python exception (rpcsvc.Classifier).
func (e *notImplementedError) OsloClass() (module, class string) {
	return "builtins", "NotImplementedError"
}

// GetHostUptime is nova's get_host_uptime: the driver's uptime line of
// this compute's host.
func (e *Endpoint) GetHostUptime(ctx context.Context) (string, error) {
	u, ok := e.m.driver.(virt.HostUptimer)
	if !ok {
		return "", &notImplementedError{what: "get_host_uptime"}
	}
	out, err := u.GetHostUptime(ctx)
	if err != nil {
		return "", fmt.Errorf("get_host_uptime: %w", err)
	}
	return out, nil
}
