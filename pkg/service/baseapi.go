package service

import "context"

// BaseAPINamespace and BaseAPIVersion are nova's base RPC API, served by every
// RPC service beside its manager (nova/baserpc.py).
const (
	BaseAPINamespace = "baseapi"
	BaseAPIVersion   = "1.1"
)

// BaseAPI answers baseapi.ping and baseapi.get_backdoor_port.
type BaseAPI struct {
	ServiceName  string
	BackdoorPort int
}

// PingArgs are ping's arguments: nova's clients send arg.
type PingArgs struct {
	Arg any `json:"arg"`
}

// PingResult is what nova's ping returns: the service name and the argument.
type PingResult struct {
	Service string `json:"service"`
	Arg     any    `json:"arg"`
}

// Ping echoes its argument with the service's name, so a caller can check that
// a service consumes its queue.
func (b *BaseAPI) Ping(_ context.Context, args PingArgs) (PingResult, error) {
	return PingResult{Service: b.ServiceName, Arg: args.Arg}, nil
}

// GetBackdoorPort returns the debug port, or nil when there is none, as nova.
func (b *BaseAPI) GetBackdoorPort(context.Context) (*int, error) {
	if b.BackdoorPort == 0 {
		return nil, nil
	}
	p := b.BackdoorPort
	return &p, nil
}
