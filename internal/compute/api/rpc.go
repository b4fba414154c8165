package computeapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/virt"
	"github.com/gonova/gonova/internal/computedb"
)

// ComputeRPC is the part of the compute RPC API (nova's compute_rpcapi) that
// API uses. The instance's Host names the compute to talk to. Casts return
// once the message is handed to the transport; GetConsoleOutput is a call
// and waits for the compute's answer until ctx ends.
//
// NewComputeRPC is the implementation over the RPC client; tests may record
// calls instead. For the compute's answers API maps to a status, an
// implementation returns (wrapped is fine) ErrConsoleNotAvailable,
// ErrInstanceNotReady or ErrNotSupported; any other error (a timeout
// included) is unexpected, as in nova.
type ComputeRPC interface {
	// BuildAndRunInstance casts build_and_run_instance to inst.Host.
	BuildAndRunInstance(ctx context.Context, inst computedb.Instance) error
	// TerminateInstance casts terminate_instance to inst.Host.
	TerminateInstance(ctx context.Context, inst computedb.Instance) error
	// RebootInstance casts reboot_instance to inst.Host.
	RebootInstance(ctx context.Context, inst computedb.Instance, how virt.RebootType) error
	// GetConsoleOutput calls get_console_output on inst.Host. tailLength nil
	// means the whole log.
	GetConsoleOutput(ctx context.Context, inst computedb.Instance, tailLength *int) (string, error)
	// InstanceAction casts one of the methods that take only the instance
	// to inst.Host: rpcapi.MethodStopInstance (clean_shutdown true),
	// MethodStartInstance, MethodPauseInstance, MethodUnpauseInstance,
	// MethodSuspendInstance, MethodResumeInstance.
	InstanceAction(ctx context.Context, method string, inst computedb.Instance) error
	// RebuildInstance casts rebuild_instance to inst.Host: the instance is
	// rebuilt on its host from inst.ImageRef; newPass nil keeps none.
	RebuildInstance(ctx context.Context, inst computedb.Instance, origImageRef string, newPass *string) error
}

// NewComputeRPC returns the ComputeRPC over the compute RPC client cl. It is
// where the two vocabularies meet: the host comes from the instance's row,
// an absent tail length becomes "the whole log", and the compute's
// InstanceNotFound and InstanceInvalidState answers to get_console_output
// become ErrConsoleNotAvailable and ErrInstanceNotReady, as nova's
// console-output handler maps them.
//
//	cl, _ := rpcapi.New(tr, rpcapi.Options{CallTimeout: cfg.Default.RPCResponseTimeout})
//	capi, _ := computeapi.New(computeapi.Options{..., RPC: computeapi.NewComputeRPC(cl)})
func NewComputeRPC(cl *rpcapi.Client) ComputeRPC { return rpcClient{cl: cl} }

type rpcClient struct{ cl *rpcapi.Client }

func (c rpcClient) BuildAndRunInstance(ctx context.Context, inst computedb.Instance) error {
	return c.cl.BuildAndRunInstance(ctx, inst.Host, rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(inst), Node: inst.Node})
}

func (c rpcClient) TerminateInstance(ctx context.Context, inst computedb.Instance) error {
	return c.cl.TerminateInstance(ctx, inst.Host, inst.UUID)
}

func (c rpcClient) RebootInstance(ctx context.Context, inst computedb.Instance, how virt.RebootType) error {
	return c.cl.RebootInstance(ctx, inst.Host, inst.UUID, string(how))
}

func (c rpcClient) InstanceAction(ctx context.Context, method string, inst computedb.Instance) error {
	if method == rpcapi.MethodStopInstance {
		return c.cl.StopInstance(ctx, inst.Host, inst.UUID, true)
	}
	return c.cl.InstanceCast(ctx, method, inst.Host, inst.UUID)
}

func (c rpcClient) RebuildInstance(ctx context.Context, inst computedb.Instance, origImageRef string, newPass *string) error {
	return c.cl.RebuildInstance(ctx, inst.Host, rpcapi.RebuildInstanceArgs{Instance: rpcapi.InstanceFrom(inst),
		ImageRef: inst.ImageRef, OrigImageRef: origImageRef, NewPass: newPass})
}

func (c rpcClient) GetConsoleOutput(ctx context.Context, inst computedb.Instance, tailLength *int) (string, error) {
	n := -1
	if tailLength != nil {
		if *tailLength < 0 {
			return "", fmt.Errorf("computeapi: negative tail length %d", *tailLength)
		}
		n = *tailLength
	}
	out, err := c.cl.GetConsoleOutput(ctx, inst.Host, inst.UUID, n)
	switch {
	case errors.Is(err, rpcapi.ErrInstanceNotFound):
		return "", fmt.Errorf("%w: %w", ErrConsoleNotAvailable, err)
	case errors.Is(err, rpcapi.ErrInstanceInvalidState):
		return "", fmt.Errorf("%w: %w", ErrInstanceNotReady, err)
	}
	return out, err
}
