package apiadapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonova/gonova/internal/api"
	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/computedb"
)

// Adapter is an api.ComputeAPI over an rpcapi.Client.
//
//	cl, _ := rpcapi.New(tr, rpcapi.Options{VersionCap: cfg.UpgradeLevelsCompute})
//	router, _ := api.NewRouter(api.Deps{..., ComputeAPI: apiadapter.New(cl)})
type Adapter struct{ cl *rpcapi.Client }

var _ api.ComputeAPI = (*Adapter)(nil)

// New returns an Adapter over cl.
func New(cl *rpcapi.Client) *Adapter { return &Adapter{cl: cl} }

// BuildAndRunInstance casts build_and_run_instance to inst.Host.
func (a *Adapter) BuildAndRunInstance(ctx context.Context, inst computedb.Instance) error {
	return a.cl.BuildAndRunInstance(ctx, inst.Host, rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(inst), Node: inst.Node})
}

// TerminateInstance casts terminate_instance to inst.Host.
func (a *Adapter) TerminateInstance(ctx context.Context, inst computedb.Instance) error {
	return a.cl.TerminateInstance(ctx, inst.Host, inst.UUID)
}

// RebootInstance casts reboot_instance to inst.Host.
func (a *Adapter) RebootInstance(ctx context.Context, inst computedb.Instance, rebootType string) error {
	return a.cl.RebootInstance(ctx, inst.Host, inst.UUID, rebootType)
}

// GetConsoleOutput calls get_console_output on inst.Host; nil tailLength is
// the whole log. A guest the compute does not have is api.ErrConsoleNotAvailable
// (404), one in a state without a console api.ErrInstanceNotReady (409).
func (a *Adapter) GetConsoleOutput(ctx context.Context, inst computedb.Instance, tailLength *int) (string, error) {
	n := -1
	if tailLength != nil {
		if *tailLength < 0 {
			return "", fmt.Errorf("apiadapter: negative tail length %d", *tailLength)
		}
		n = *tailLength
	}
	out, err := a.cl.GetConsoleOutput(ctx, inst.Host, inst.UUID, n)
	switch {
	case errors.Is(err, rpcapi.ErrInstanceNotFound):
		return "", fmt.Errorf("%w: %w", api.ErrConsoleNotAvailable, err)
	case errors.Is(err, rpcapi.ErrInstanceInvalidState):
		return "", fmt.Errorf("%w: %w", api.ErrInstanceNotReady, err)
	}
	return out, err
}
