package api

import (
	"context"
	"errors"

	"github.com/gonova/gonova/internal/computedb"
)

// ComputeAPI is the part of the compute RPC API (nova's compute_rpcapi) the
// handlers use. The instance's Host names the compute to talk to. Casts
// return once the message is handed to the transport; GetConsoleOutput is a
// call and waits for the compute's answer until ctx ends.
//
// The production implementation is an adapter over
// internal/compute/rpcapi; tests use a recording fake.
type ComputeAPI interface {
	// BuildAndRunInstance casts build_and_run_instance to inst.Host.
	BuildAndRunInstance(ctx context.Context, inst computedb.Instance) error
	// TerminateInstance casts terminate_instance to inst.Host.
	TerminateInstance(ctx context.Context, inst computedb.Instance) error
	// RebootInstance casts reboot_instance to inst.Host; rebootType is
	// "SOFT" or "HARD".
	RebootInstance(ctx context.Context, inst computedb.Instance, rebootType string) error
	// GetConsoleOutput calls get_console_output on inst.Host. tailLength nil
	// means the whole log.
	GetConsoleOutput(ctx context.Context, inst computedb.Instance, tailLength *int) (string, error)
}

// Errors a ComputeAPI implementation returns (wrapped is fine) for the
// compute's answers the API maps to a status, as nova's handlers do. Any
// other error (a timeout included) is a 500, as in nova.
var (
	// ErrConsoleNotAvailable is nova's ConsoleNotAvailable: 404.
	ErrConsoleNotAvailable = errors.New("guest does not have a console available")
	// ErrInstanceNotReady is nova's InstanceNotReady: 409.
	ErrInstanceNotReady = errors.New("instance is not ready")
	// ErrNotSupported is the driver's NotImplementedError: 501.
	ErrNotSupported = errors.New("not supported by the compute driver")
)
