package rpcapi

import (
	"context"
	"errors"
)

// GetHostUptime calls get_host_uptime on host, as nova's os-hypervisors
// uptime does: the `uptime` line of the compute's host. A compute whose
// driver has no uptime answers NotImplementedError (the RemoteError is
// returned as it came).
func (c *Client) GetHostUptime(ctx context.Context, host string) (string, error) {
	var out *string
	if err := c.call(ctx, MethodGetHostUptime, host, struct{}{}, &out); err != nil {
		return "", err
	}
	if out == nil {
		return "", errors.New("rpcapi: get_host_uptime returned null")
	}
	return *out, nil
}
