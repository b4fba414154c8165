package rpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Options configure a Client.
type Options struct {
	// VersionCap is [upgrade_levels] compute: the highest version sent (see
	// ParseVersionCap). Empty means no cap: Version. A version (6.0), a
	// release name (zed: 6.1), or Auto: the version the oldest nova-compute
	// serves, from MinimumComputeVersion and the service version history
	// (internal/compute/versions), as nova's _determine_version_cap. A method
	// above the cap without an older form fails with an error matching
	// rpcsvc.ErrVersionCap, before anything is sent.
	VersionCap string
	// MinimumComputeVersion returns the lowest service version of the live
	// nova-compute rows (registry.Store.MinimumVersion(ctx, "nova-compute"));
	// required with Auto.
	MinimumComputeVersion func(ctx context.Context) (int, error)
	// Logger receives the cap Auto chose; nil means slog.Default().
	Logger *slog.Logger
	// CallTimeout bounds each call (get_console_output, get_diagnostics); 0
	// means the transport's rpc_response_timeout. Casts are bounded by ctx (or
	// that timeout when ctx has no deadline).
	CallTimeout time.Duration
}

// Client is the typed compute RPC client: one method per compute RPC method,
// each addressed to one host. It is safe for concurrent use.
//
//	cl, err := rpcapi.New(tr, rpcapi.Options{VersionCap: cfg.UpgradeLevels.Compute, MinimumComputeVersion: minFn})
//	err = cl.Reset(ctx) // with auto: choose the cap now (nova chooses at the first message)
//	err = cl.BuildAndRunInstance(ctx, inst.Host, rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(inst), Node: inst.Node})
//	out, err := cl.GetConsoleOutput(ctx, inst.Host, inst.UUID, 50)
//	if errors.Is(err, rpcapi.ErrInstanceNotFound) { /* 404 */ }
type Client struct {
	tr             *rpcsvc.Transport
	callTimeout    time.Duration
	auto           bool
	minimumCompute func(ctx context.Context) (int, error)
	log            *slog.Logger

	// rpc is the client with the cap in force; Auto replaces it.
	rpc atomic.Pointer[capped]
	// known: Auto chose the cap from a nova-compute's row (nova's
	// LAST_VERSION is set); until then every message asks again.
	known            atomic.Bool
	mu               sync.Mutex // one determination at a time
	noComputesLogged atomic.Bool
}

// New returns a client over tr for topic "compute". With Auto it reads no
// row yet: the cap is chosen at the first message, or by Reset.
func New(tr *rpcsvc.Transport, opts Options) (*Client, error) {
	if opts.CallTimeout < 0 {
		return nil, fmt.Errorf("rpcapi: negative call timeout %s", opts.CallTimeout)
	}
	vc, err := ParseVersionCap(opts.VersionCap)
	if err != nil {
		return nil, fmt.Errorf("rpcapi: %w", err)
	}
	if vc.Auto && opts.MinimumComputeVersion == nil {
		return nil, errors.New("rpcapi: version cap auto needs Options.MinimumComputeVersion")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Client{tr: tr, callTimeout: opts.CallTimeout, auto: vc.Auto, minimumCompute: opts.MinimumComputeVersion, log: opts.Logger}
	first := vc.Version
	if vc.Auto {
		first = Version
	}
	cl, err := c.clientCapped(first)
	if err != nil {
		return nil, err
	}
	c.rpc.Store(cl)
	return c, nil
}

// capped is an RPC client and the cap it enforces.
type capped struct {
	cl         *rpcsvc.Client
	capVersion string
}

func (c *Client) clientCapped(capVersion string) (*capped, error) {
	cl, err := rpcsvc.NewClient(c.tr, rpcsvc.ClientConfig{
		Target:     rpcsvc.Target{Topic: Topic, Version: Version},
		VersionCap: capVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("rpcapi: %w", err)
	}
	return &capped{cl: cl, capVersion: capVersion}, nil
}

// VersionCap returns the cap in force: "" for none. With Auto before a
// nova-compute row was seen, it is Version.
func (c *Client) VersionCap() string { return c.rpc.Load().capVersion }

// Reset is nova's reset_globals for the compute RPC client (SIGHUP): with
// Auto, it forgets the cap and chooses it again from the services table at
// once, logging the choice. When that fails (the database is down, or every
// compute is newer than this binary: ServiceTooOldError) the cap in force
// stays and the error is returned. Without Auto it does nothing.
func (c *Client) Reset(ctx context.Context) error {
	if !c.auto {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.redetermine(ctx)
}

// redetermine runs determineCap and installs its answer; c.mu is held.
func (c *Client) redetermine(ctx context.Context) error {
	capVersion, final, err := c.determineCap(ctx)
	if err != nil {
		return err
	}
	cl, err := c.clientCapped(capVersion)
	if err != nil {
		return err
	}
	c.rpc.Store(cl)
	c.known.Store(final)
	return nil
}

// current returns the client with the cap in force, choosing it first under
// Auto when no nova-compute row was seen yet.
func (c *Client) current(ctx context.Context) (*rpcsvc.Client, error) {
	if c.auto && !c.known.Load() {
		c.mu.Lock()
		var err error
		if !c.known.Load() {
			err = c.redetermine(ctx)
		}
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return c.rpc.Load().cl, nil
}

// prepare checks the host and the version cap and addresses method, at
// version, to host.
func (c *Client) prepare(cl *rpcsvc.Client, method, version, host string, timeout time.Duration) (*rpcsvc.Client, error) {
	if host == "" {
		return nil, fmt.Errorf("rpcapi: %s: no compute host given", method)
	}
	p := cl.Prepare(rpcsvc.CallOptions{Server: host, Version: version, Timeout: timeout})
	if !p.CanSendVersion(version) {
		return nil, fmt.Errorf("rpcapi: %s needs compute RPC API %s: %w", method, version, rpcsvc.ErrVersionCap)
	}
	return p, nil
}

func checkUUID(method, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("rpcapi: %s: instance uuid %q: %w", method, id, err)
	}
	return nil
}

func (c *Client) cast(ctx context.Context, method, host string, args any) error {
	cl, err := c.current(ctx)
	if err != nil {
		return err
	}
	return c.castAt(ctx, cl, method, methodVersions[method], host, args)
}

func (c *Client) castAt(ctx context.Context, cl *rpcsvc.Client, method, version, host string, args any) error {
	p, err := c.prepare(cl, method, version, host, 0)
	if err != nil {
		return err
	}
	if err := p.Cast(ctx, method, args); err != nil {
		return fmt.Errorf("rpcapi: casting %s to %s: %w", method, host, err)
	}
	return nil
}

func (c *Client) call(ctx context.Context, method, host string, args, out any) error {
	cl, err := c.current(ctx)
	if err != nil {
		return err
	}
	p, err := c.prepare(cl, method, methodVersions[method], host, c.callTimeout)
	if err != nil {
		return err
	}
	if err := p.Call(ctx, method, args, out); err != nil {
		return fmt.Errorf("rpcapi: calling %s on %s: %w", method, host, mapRemote(err))
	}
	return nil
}

// BuildAndRunInstance casts build_and_run_instance to host. It returns once
// the broker has the message; the outcome shows in the instance's vm_state.
// Empty argument lists are sent as nova sends them ({} and []).
//
// It is sent at 6.1. Under a cap of 6.0 it is sent at 6.0 without power_on,
// as nova's client backports a method (client.can_send_version('6.1')), when
// that loses nothing: power_on unset or true. PowerOn false under that cap is
// refused (nova's "Compute RPC version does not support ... parameter"), with
// an error matching rpcsvc.ErrVersionCap.
func (c *Client) BuildAndRunInstance(ctx context.Context, host string, args BuildAndRunInstanceArgs) error {
	if err := checkUUID(MethodBuildAndRunInstance, args.Instance.UUID); err != nil {
		return err
	}
	cl, err := c.current(ctx)
	if err != nil {
		return err
	}
	version := methodVersions[MethodBuildAndRunInstance]
	if !cl.CanSendVersion(version) {
		if args.PowerOn != nil && !*args.PowerOn {
			return fmt.Errorf("rpcapi: %s: Compute RPC version does not support the power_on parameter (it needs %s): %w",
				MethodBuildAndRunInstance, version, rpcsvc.ErrVersionCap)
		}
		args.PowerOn = nil
		version = "6.0"
	}
	if args.Image == nil {
		args.Image = map[string]any{}
	}
	if args.FilterProperties == nil {
		args.FilterProperties = map[string]any{}
	}
	if args.BlockDeviceMapping == nil {
		args.BlockDeviceMapping = []any{}
	}
	return c.castAt(ctx, cl, MethodBuildAndRunInstance, version, host, args)
}

// TerminateInstance casts terminate_instance for the instance uuid to host.
func (c *Client) TerminateInstance(ctx context.Context, host, uuid string) error {
	if err := checkUUID(MethodTerminateInstance, uuid); err != nil {
		return err
	}
	return c.cast(ctx, MethodTerminateInstance, host, TerminateInstanceArgs{Instance: Instance{UUID: uuid}, BDMs: []any{}})
}

// RebootInstance casts reboot_instance to host; rebootType is "SOFT" or
// "HARD".
func (c *Client) RebootInstance(ctx context.Context, host, uuid, rebootType string) error {
	if err := checkUUID(MethodRebootInstance, uuid); err != nil {
		return err
	}
	if rebootType != "SOFT" && rebootType != "HARD" {
		return fmt.Errorf("rpcapi: %s: reboot type %q is neither SOFT nor HARD", MethodRebootInstance, rebootType)
	}
	return c.cast(ctx, MethodRebootInstance, host, RebootInstanceArgs{Instance: Instance{UUID: uuid}, RebootType: rebootType})
}

// GetConsoleOutput calls get_console_output on host and returns the last
// tailLength lines of the instance's console (a negative tailLength: the whole
// log; 0: nothing, as nova). It waits at most the call timeout (and ctx).
func (c *Client) GetConsoleOutput(ctx context.Context, host, uuid string, tailLength int) (string, error) {
	if err := checkUUID(MethodGetConsoleOutput, uuid); err != nil {
		return "", err
	}
	args := GetConsoleOutputArgs{Instance: Instance{UUID: uuid}}
	if tailLength >= 0 {
		args.TailLength = &tailLength
	}
	var out *string
	if err := c.call(ctx, MethodGetConsoleOutput, host, args, &out); err != nil {
		return "", err
	}
	if out == nil {
		return "", errors.New("rpcapi: get_console_output returned null")
	}
	return *out, nil
}

// GetDiagnostics calls get_diagnostics on host and returns the instance's
// diagnostics.
func (c *Client) GetDiagnostics(ctx context.Context, host, uuid string) (Diagnostics, error) {
	if err := checkUUID(MethodGetDiagnostics, uuid); err != nil {
		return Diagnostics{}, err
	}
	var out Diagnostics
	if err := c.call(ctx, MethodGetDiagnostics, host, GetDiagnosticsArgs{Instance: Instance{UUID: uuid}}, &out); err != nil {
		return Diagnostics{}, err
	}
	return out, nil
}
