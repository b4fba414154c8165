package virt

import "context"

// HostUptimer is implemented by a Driver that reports its host's uptime,
// nova's driver.get_host_uptime (the `uptime` line). A driver without it
// is nova's base driver: the call is NotImplementedError.
type HostUptimer interface {
	GetHostUptime(ctx context.Context) (string, error)
}
