package nova

import (
	"github.com/gonova/gonova/internal/api"
	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/rpcapi/apiadapter"
)

// ComputeClient is the API's view of the compute RPC API, over the transport.
func (a *App) ComputeClient() (api.ComputeAPI, error) {
	cl, err := rpcapi.New(a.Transport, rpcapi.Options{CallTimeout: a.Cfg.Default.RPCResponseTimeout})
	if err != nil {
		return nil, err
	}
	return apiadapter.New(cl), nil
}
