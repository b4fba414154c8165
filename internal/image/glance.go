// Package image is nova's image API (nova/image/glance.py) as far as
// nova-api needs it: GET /v2/images/{id} at Glance, on the caller's behalf
// (its token), to check the imageRef of a server create or rebuild.
//
// Where Glance is: [glance] api_servers (a shuffled cycle, retried on the
// next one when a server cannot be reached), else endpoint_override, else the
// image endpoint of the caller's Keystone catalog (its region_name and
// valid_interfaces), as keystoneauth's adapter finds it for nova.
package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// Image is what nova-api reads of a Glance image.
type Image struct {
	ID      string
	Status  string // queued, saving, active, killed, deleted, pending_delete, deactivated, uploading, importing
	MinRAM  int    // MB
	MinDisk int    // GB
	Size    int64  // bytes
	// Properties are the image's other attributes (img_config_drive, ...).
	Properties map[string]any
}

// Errors of Get. An *Error wraps each with nova's message.
var (
	// ErrNotFound: Glance answered 404 (no such image, or not visible to
	// the caller), nova's ImageNotFound.
	ErrNotFound = errors.New("image not found")
	// ErrNotAuthorized: Glance answered 403, nova's ImageNotAuthorized.
	ErrNotAuthorized = errors.New("image not authorized")
	// ErrUnavailable: no Glance could be reached, or it failed (5xx), or no
	// image endpoint is known: nova's GlanceConnectionFailed.
	ErrUnavailable = errors.New("image service unavailable")
)

// Options configure a Client: nova's [glance] options.
type Options struct {
	APIServers       []string
	NumRetries       int
	EndpointOverride string
	RegionName       string
	// ValidInterfaces default to internal, public (nova's).
	ValidInterfaces []string
	// Timeout of one request to Glance. Default 30 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Configured reports whether o names a Glance without a catalog: with
// neither, only a caller's Keystone catalog can.
func (o Options) Configured() bool { return len(o.APIServers) > 0 || o.EndpointOverride != "" }

// Client asks Glance about images.
type Client struct {
	opts    Options
	servers []string // shuffled once, cycled through
	next    atomic.Uint64
	http    http.Client
	log     *slog.Logger
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if len(opts.ValidInterfaces) == 0 {
		opts.ValidInterfaces = []string{"internal", "public"}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Client{opts: opts, http: http.Client{Timeout: opts.Timeout}, log: opts.Logger}
	for _, s := range opts.APIServers {
		c.servers = append(c.servers, baseURL(s))
	}
	rand.Shuffle(len(c.servers), func(i, j int) { c.servers[i], c.servers[j] = c.servers[j], c.servers[i] })
	return c
}

// versionSuffix is a /v2 or /v2.1 at the end of an endpoint: nova strips it
// (the clients add their own version).
var versionSuffix = regexp.MustCompile(`/v\d+(\.\d+)?/?$`)

func baseURL(u string) string {
	return strings.TrimRight(versionSuffix.ReplaceAllString(strings.TrimSpace(u), ""), "/")
}

// Get is GET /v2/images/{id} with caller's token. Errors wrap ErrNotFound,
// ErrNotAuthorized or ErrUnavailable in an *Error.
func (c *Client) Get(ctx context.Context, caller *auth.Context, id string) (Image, error) {
	bases, err := c.endpoints(caller)
	if err != nil {
		return Image{}, err
	}
	tries := 1
	if len(c.servers) > 0 {
		tries += c.opts.NumRetries
	}
	var last error
	for i := 0; i < tries; i++ {
		base := bases[i%len(bases)]
		img, err := c.get(ctx, caller, base, id)
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return img, err
		}
		last = err
		if i+1 < tries {
			c.log.Warn("glance: retrying on the next api server", "server", base, "attempt", i+1, "of", tries, "error", err)
		}
	}
	return Image{}, last
}

// endpoints are the Glance base URLs to try, in order.
func (c *Client) endpoints(caller *auth.Context) ([]string, error) {
	if n := len(c.servers); n > 0 {
		start := int(c.next.Add(1)-1) % n
		return append(append([]string(nil), c.servers[start:]...), c.servers[:start]...), nil
	}
	if c.opts.EndpointOverride != "" {
		return []string{baseURL(c.opts.EndpointOverride)}, nil
	}
	if caller == nil || len(caller.ServiceCatalog) == 0 {
		return nil, &Error{Err: ErrUnavailable, Msg: "no image endpoint: [glance] api_servers is unset and the request has no service catalog"}
	}
	u, err := catalogEndpoint(caller.ServiceCatalog, "image", c.opts.RegionName, c.opts.ValidInterfaces)
	if err != nil {
		return nil, &Error{Err: ErrUnavailable, Msg: err.Error()}
	}
	return []string{baseURL(u)}, nil
}

// catalogEndpoint is the URL of the first endpoint of a service of type in
// Keystone's v3 catalog, in region (any when empty), on the first of
// interfaces that has one.
func catalogEndpoint(raw json.RawMessage, typ, region string, interfaces []string) (string, error) {
	var catalog []struct {
		Type      string `json:"type"`
		Endpoints []struct {
			Interface string `json:"interface"`
			Region    string `json:"region"`
			RegionID  string `json:"region_id"`
			URL       string `json:"url"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(raw, &catalog); err != nil {
		return "", fmt.Errorf("the service catalog does not parse: %v", err)
	}
	for _, iface := range interfaces {
		for _, s := range catalog {
			if s.Type != typ {
				continue
			}
			for _, e := range s.Endpoints {
				if e.Interface == iface && (region == "" || e.Region == region || e.RegionID == region) && e.URL != "" {
					return e.URL, nil
				}
			}
		}
	}
	where := "any region"
	if region != "" {
		where = "region " + region
	}
	return "", fmt.Errorf("no %s endpoint in the service catalog (%s, interfaces %s)", typ, where, strings.Join(interfaces, ","))
}

func (c *Client) get(ctx context.Context, caller *auth.Context, base, id string) (Image, error) {
	p := &gophercloud.ProviderClient{HTTPClient: c.http}
	headers := map[string]string{}
	if caller != nil {
		p.SetToken(caller.AuthToken)
		// nova sends its global request id to Glance.
		if rid := caller.GlobalRequestID; rid != "" {
			headers["X-OpenStack-Request-ID"] = rid
		} else if caller.RequestID != "" {
			headers["X-OpenStack-Request-ID"] = caller.RequestID
		}
	}
	sc := &gophercloud.ServiceClient{ProviderClient: p, Endpoint: base + "/", ResourceBase: base + "/v2/", Type: "image", MoreHeaders: headers}
	img, err := images.Get(ctx, sc, id).Extract()
	switch {
	case err == nil:
		return Image{ID: img.ID, Status: string(img.Status), MinRAM: img.MinRAMMegabytes, MinDisk: img.MinDiskGigabytes, Size: img.SizeBytes, Properties: img.Properties}, nil
	case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
		return Image{}, &Error{Err: ErrNotFound, Msg: fmt.Sprintf("Image %s could not be found.", id)}
	case gophercloud.ResponseCodeIs(err, http.StatusForbidden):
		return Image{}, &Error{Err: ErrNotAuthorized, Msg: fmt.Sprintf("Not authorized for image %s.", id)}
	case gophercloud.ResponseCodeIs(err, http.StatusUnauthorized):
		// The caller's token was good for nova-api a moment ago: Glance's
		// Keystone refusing it is a fault of the set-up, not of the
		// request.
		return Image{}, &Error{Err: ErrUnavailable, Msg: "the image service refused the request's token (401)"}
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) && code.Actual >= 400 && code.Actual < 500 {
		// A 400 of Glance's (an id it does not take): nova's
		// ImageBadRequest, shown to the caller as not found.
		return Image{}, &Error{Err: ErrNotFound, Msg: fmt.Sprintf("Image %s could not be found.", id)}
	}
	// The host in the message, never the token; nova's
	// GlanceConnectionFailed says the same.
	return Image{}, &Error{Err: ErrUnavailable, Msg: fmt.Sprintf("Connection to glance host %s failed: %s", base, shortError(err))}
}

// shortError drops what a transport error repeats of the request.
func shortError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "dial tcp") {
		return s[i+2:]
	}
	return s
}

// Error is an image error with nova's message.
type Error struct {
	Err error // ErrNotFound, ErrNotAuthorized or ErrUnavailable
	Msg string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// ServiceUnavailable marks ErrUnavailable errors for pkg/wsgi/fault: a 503,
// logged once per outage, not a 500.
func (e *Error) ServiceUnavailable() bool { return errors.Is(e.Err, ErrUnavailable) }
