package rpcapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// Auto is the [upgrade_levels] compute value that derives the cap from the
// services table.
const Auto = "auto"

// OldestVersion is the oldest compute RPC API version this client has a form
// of every method for: a cap below it leaves nothing to send.
const OldestVersion = "6.0"

// releases is nova's ComputeAPI.VERSION_ALIASES (nova 26, Zed), oldest
// first: the compute RPC version each release's nova-compute serves, so that
// an operator can write [upgrade_levels] compute = zed.
var releases = []struct{ name, version string }{
	{"icehouse", "3.23"},
	{"juno", "3.35"},
	{"kilo", "4.0"},
	{"liberty", "4.5"},
	{"mitaka", "4.11"},
	{"newton", "4.13"},
	{"ocata", "4.13"},
	{"pike", "4.17"},
	{"queens", "5.0"},
	{"rocky", "5.0"},
	{"stein", "5.1"},
	{"train", "5.3"},
	{"ussuri", "5.11"},
	{"victoria", "5.12"},
	{"wallaby", "6.0"},
	{"xena", "6.0"},
	{"yoga", "6.0"},
	{"zed", "6.1"},
}

// VersionAlias returns the compute RPC version of a release name (nova's
// VERSION_ALIASES), and whether the name is one.
func VersionAlias(release string) (string, bool) {
	for _, r := range releases {
		if r.name == release {
			return r.version, true
		}
	}
	return "", false
}

// VersionCap is a parsed [upgrade_levels] compute.
type VersionCap struct {
	// Auto: the cap is what the oldest nova-compute serves.
	Auto bool
	// Version is the fixed cap ("" for none, and with Auto).
	Version string
	// Alias is the release name Version came from, if any.
	Alias string
}

// ParseVersionCap reads an [upgrade_levels] compute value: "" (no cap: the
// newest version, Version), "auto", a release name (VersionAlias) or a version
// "N.N".
//
//	vc, err := rpcapi.ParseVersionCap("zed") // {Version: "6.1", Alias: "zed"}
func ParseVersionCap(s string) (VersionCap, error) {
	switch {
	case s == "":
		return VersionCap{}, nil
	case s == Auto:
		return VersionCap{Auto: true}, nil
	}
	if v, ok := VersionAlias(s); ok {
		return VersionCap{Version: v, Alias: s}, nil
	}
	if _, _, err := wire.ParseVersion(s); err != nil || strings.Count(s, ".") != 1 {
		return VersionCap{}, fmt.Errorf("compute RPC version cap %q is not a version (6.0), a release name in lower case (%s ... %s) or auto",
			s, releases[0].name, releases[len(releases)-1].name)
	}
	return VersionCap{Version: s}, nil
}

// Usable reports a fixed cap below OldestVersion: gonova's client has no form
// of any method for it, so every message would be refused.
func (vc VersionCap) Usable() error {
	if vc.Version == "" || compareVersions(vc.Version, OldestVersion) >= 0 {
		return nil
	}
	name := vc.Version
	if vc.Alias != "" {
		name = fmt.Sprintf("%s (%s)", vc.Version, vc.Alias)
	}
	return fmt.Errorf("compute RPC version cap %s is below %s, the oldest compute RPC API gonova speaks: every message to nova-compute would be refused", name, OldestVersion)
}

// compareVersions orders "major.minor" strings; an unparsable one sorts
// first.
func compareVersions(a, b string) int {
	am, an, aerr := wire.ParseVersion(a)
	bm, bn, berr := wire.ParseVersion(b)
	switch {
	case aerr != nil && berr != nil:
		return 0
	case aerr != nil:
		return -1
	case berr != nil:
		return 1
	case am != bm:
		return am - bm
	}
	return an - bn
}

// determineCap is nova's _determine_version_cap: the compute RPC version the
// oldest nova-compute serves, from its service version and the history.
// final is false when there is no nova-compute yet (minimum 0): the newest
// version is used and the answer is not kept, so the next message asks again.
func (c *Client) determineCap(ctx context.Context) (capVersion string, final bool, err error) {
	minimum, err := c.minimumCompute(ctx)
	if err != nil {
		return "", false, fmt.Errorf("rpcapi: [upgrade_levels] compute = auto: reading the minimum nova-compute service version: %w", err)
	}
	if minimum == 0 {
		if c.noComputesLogged.CompareAndSwap(false, true) {
			c.log.DebugContext(ctx, "Not caching compute RPC version_cap, because min service_version is 0. "+
				"Please ensure a nova-compute service has been started. Defaulting to current version.")
		}
		return Version, false, nil
	}
	capVersion, err = versions.ComputeRPC(minimum)
	var tooOld *versions.ServiceTooOldError
	if errors.As(err, &tooOld) {
		c.log.ErrorContext(ctx, fmt.Sprintf("Failed to extract compute RPC version from service history because I am too old (minimum version is now %d)", minimum),
			"minimum_service_version", minimum, "service_version", versions.Current)
		return "", false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("rpcapi: [upgrade_levels] compute = auto: %w", err)
	}
	c.log.InfoContext(ctx, fmt.Sprintf("Automatically selected compute RPC version %s from minimum service version %d", capVersion, minimum),
		"version_cap", capVersion, "minimum_service_version", minimum)
	return capVersion, true, nil
}
