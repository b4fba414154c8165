package nova

import (
	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/rpcapi"
)

// ComputeClient is the API's view of the compute RPC API, over the transport.
func (a *App) ComputeClient() (computeapi.ComputeRPC, error) {
	cl, err := rpcapi.New(a.Transport, rpcapi.Options{CallTimeout: a.Cfg.Default.RPCResponseTimeout})
	if err != nil {
		return nil, err
	}
	return computeapi.NewComputeRPC(cl), nil
}
