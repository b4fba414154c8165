package nova

import (
	"context"
	"errors"
	"fmt"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/rpcapi"
	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/app"
)

// ComputeClient is the API's compute RPC client (computeapi.ComputeRPC),
// capped by [upgrade_levels] compute.
type ComputeClient struct {
	computeapi.ComputeRPC
	rpc *rpcapi.Client
}

// VersionCap is the compute RPC version cap in force ("" for none).
func (c *ComputeClient) VersionCap() string { return c.rpc.VersionCap() }

// Reset chooses the cap again under [upgrade_levels] compute = auto, from
// the services table (nova's reset of the compute RPC globals on SIGHUP);
// otherwise it does nothing. On failure the cap in force stays.
func (c *ComputeClient) Reset(ctx context.Context) error {
	err := c.rpc.Reset(ctx)
	var tooOld *versions.ServiceTooOldError
	if errors.As(err, &tooOld) {
		return &app.Error{Code: app.ExitConfig, Err: err}
	}
	return err
}

// ComputeClient builds the API's view of the compute RPC API over the
// transport, capped by [upgrade_levels] compute: a version, a release name,
// or auto (the version the oldest nova-compute row serves, chosen when the
// API service starts and again on SIGHUP; see rpcapi). A value gonova cannot
// use is a configuration error (app.ExitConfig).
func (a *App) ComputeClient() (*ComputeClient, error) {
	level := a.Cfg.UpgradeLevels.Compute
	vc, err := rpcapi.ParseVersionCap(level)
	if err == nil {
		err = vc.Usable()
	}
	if err != nil {
		return nil, &app.Error{Code: app.ExitConfig, Err: fmt.Errorf("[upgrade_levels] compute: %w", err)}
	}
	opts := rpcapi.Options{VersionCap: level, CallTimeout: a.Cfg.Default.RPCResponseTimeout, Logger: a.Log}
	if vc.Auto {
		if a.Services == nil {
			return nil, &app.Error{Code: app.ExitConfig, Err: errors.New("[upgrade_levels] compute = auto needs the services table; this process has none")}
		}
		services := a.Services
		opts.MinimumComputeVersion = func(ctx context.Context) (int, error) {
			return services.MinimumVersion(ctx, ComputeBinary)
		}
	}
	cl, err := rpcapi.New(a.Transport, opts)
	if err != nil {
		return nil, err
	}
	if !vc.Auto {
		a.Log.Info("Compute RPC version cap", "upgrade_level", level, "version_cap", cl.VersionCap())
	}
	return &ComputeClient{ComputeRPC: computeapi.NewComputeRPC(cl), rpc: cl}, nil
}

// GetHostUptime forwards get_host_uptime (computeapi.HostRPC), which the
// embedded ComputeRPC interface does not carry.
func (c *ComputeClient) GetHostUptime(ctx context.Context, host string) (string, error) {
	if hr, ok := c.ComputeRPC.(computeapi.HostRPC); ok {
		return hr.GetHostUptime(ctx, host)
	}
	return "", computeapi.ErrNotSupported
}

// PrepResize forwards prep_resize (computeapi.ResizeRPC).
func (c *ComputeClient) PrepResize(ctx context.Context, inst computedb.Instance, f computeapi.Flavor, mig rpcapi.Migration) error {
	if rr, ok := c.ComputeRPC.(computeapi.ResizeRPC); ok {
		return rr.PrepResize(ctx, inst, f, mig)
	}
	return computeapi.ErrNotSupported
}

// MigrationCast forwards confirm_resize and revert_resize
// (computeapi.ResizeRPC).
func (c *ComputeClient) MigrationCast(ctx context.Context, method string, inst computedb.Instance, mig rpcapi.Migration) error {
	if rr, ok := c.ComputeRPC.(computeapi.ResizeRPC); ok {
		return rr.MigrationCast(ctx, method, inst, mig)
	}
	return computeapi.ErrNotSupported
}
