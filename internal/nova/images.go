package nova

import (
	"fmt"
	"net/url"

	"github.com/gonova/gonova/internal/api"
	"github.com/gonova/gonova/internal/image"
	"github.com/gonova/gonova/pkg/app"
)

// imageService is the Glance nova-api checks imageRef against: [glance]
// api_servers or endpoint_override, else (auth_strategy = keystone) the
// image endpoint of each caller's catalog, as nova's keystoneauth adapter
// finds it. Under noauth2 with neither there is none: any image id is
// accepted, and the log says so once, at start. A URL that is not http(s)
// is a configuration error.
func (a *App) imageService() (api.ImageService, error) {
	g := a.Cfg.Glance
	for _, u := range append(append([]string(nil), g.APIServers...), g.EndpointOverride) {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, &app.Error{Code: app.ExitConfig, Err: fmt.Errorf("[glance]: %q is not an http(s) URL of a Glance API server", u)}
		}
	}
	for _, i := range g.ValidInterfaces {
		if i != "public" && i != "internal" && i != "admin" {
			return nil, &app.Error{Code: app.ExitConfig, Err: fmt.Errorf("[glance] valid_interfaces: %q is not public, internal or admin", i)}
		}
	}
	opts := image.Options{
		APIServers: g.APIServers, NumRetries: g.NumRetries, EndpointOverride: g.EndpointOverride,
		RegionName: g.RegionName, ValidInterfaces: g.ValidInterfaces, Logger: a.Log,
	}
	switch {
	case opts.Configured():
		a.Log.Info("image service: Glance at [glance] api_servers / endpoint_override", "api_servers", g.APIServers, "endpoint_override", g.EndpointOverride)
	case a.Cfg.API.AuthStrategy == "keystone":
		a.Log.Info("image service: Glance from the caller's Keystone catalog (image endpoint)", "region_name", g.RegionName, "valid_interfaces", g.ValidInterfaces)
	default:
		a.Log.Warn("no image service: [glance] api_servers is unset and auth_strategy is not keystone, so server create accepts any imageRef unchecked")
		return nil, nil
	}
	return image.New(opts), nil
}
