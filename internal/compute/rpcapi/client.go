package rpcapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/rpcsvc"
)

// Options configure a Client.
type Options struct {
	// VersionCap is [upgrade_levels] compute: the highest version sent. Empty
	// means no cap. Methods above it fail with an error matching
	// rpcsvc.ErrVersionCap, before anything is sent.
	VersionCap string
	// CallTimeout bounds each call (get_console_output, get_diagnostics); 0
	// means the transport's rpc_response_timeout. Casts are bounded by ctx (or
	// that timeout when ctx has no deadline).
	CallTimeout time.Duration
}

// Client is the typed compute RPC client: one method per compute RPC method,
// each addressed to one host. It is safe for concurrent use.
//
//	cl, err := rpcapi.New(tr, rpcapi.Options{VersionCap: cfg.UpgradeLevelsCompute})
//	err = cl.BuildAndRunInstance(ctx, inst.Host, rpcapi.BuildAndRunInstanceArgs{Instance: rpcapi.InstanceFrom(inst), Node: inst.Node})
//	out, err := cl.GetConsoleOutput(ctx, inst.Host, inst.UUID, 50)
//	if errors.Is(err, rpcapi.ErrInstanceNotFound) { /* 404 */ }
type Client struct {
	rpc         *rpcsvc.Client
	callTimeout time.Duration
}

// New returns a client over tr for topic "compute".
func New(tr *rpcsvc.Transport, opts Options) (*Client, error) {
	if opts.CallTimeout < 0 {
		return nil, fmt.Errorf("rpcapi: negative call timeout %s", opts.CallTimeout)
	}
	cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{
		Target:     rpcsvc.Target{Topic: Topic, Version: Version},
		VersionCap: opts.VersionCap,
	})
	if err != nil {
		return nil, fmt.Errorf("rpcapi: %w", err)
	}
	return &Client{rpc: cl, callTimeout: opts.CallTimeout}, nil
}

// prepare checks the host and the version cap and addresses method to host.
func (c *Client) prepare(method, host string, timeout time.Duration) (*rpcsvc.Client, error) {
	if host == "" {
		return nil, fmt.Errorf("rpcapi: %s: no compute host given", method)
	}
	v := methodVersions[method]
	p := c.rpc.Prepare(rpcsvc.CallOptions{Server: host, Version: v, Timeout: timeout})
	if !p.CanSendVersion(v) {
		return nil, fmt.Errorf("rpcapi: %s needs compute RPC API %s: %w", method, v, rpcsvc.ErrVersionCap)
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
	p, err := c.prepare(method, host, 0)
	if err != nil {
		return err
	}
	if err := p.Cast(ctx, method, args); err != nil {
		return fmt.Errorf("rpcapi: casting %s to %s: %w", method, host, err)
	}
	return nil
}

func (c *Client) call(ctx context.Context, method, host string, args, out any) error {
	p, err := c.prepare(method, host, c.callTimeout)
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
func (c *Client) BuildAndRunInstance(ctx context.Context, host string, args BuildAndRunInstanceArgs) error {
	if err := checkUUID(MethodBuildAndRunInstance, args.Instance.UUID); err != nil {
		return err
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
	return c.cast(ctx, MethodBuildAndRunInstance, host, args)
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
