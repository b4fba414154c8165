package microversion

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Header names, as nova spells them.
const (
	HeaderAPIVersion       = "OpenStack-API-Version"
	HeaderLegacyAPIVersion = "X-OpenStack-Nova-API-Version"
	// VaryValue is sent in Vary on every negotiated response.
	VaryValue = HeaderAPIVersion + ", " + HeaderLegacyAPIVersion
	// ServiceType is the service type in the standard header.
	ServiceType = "compute"
	// Latest asks for the highest version the service implements.
	Latest = "latest"
)

// Options configures a Negotiator.
type Options struct {
	// Min is the lowest version served, and the default one; zero means Min
	// (2.1).
	Min Version
	// Max is the highest version served, and the one "latest" selects; zero
	// means DefaultMax (2.93): claim only what the handlers implement.
	Max Version
}

// Negotiator chooses each request's microversion. Create it with New.
type Negotiator struct {
	min, max Version
}

// New returns a Negotiator for [opts.Min, opts.Max].
//
//	mv, err := microversion.New(microversion.Options{Max: microversion.MustParse("2.60")})
//	if err != nil { return err }
//	r.Use(mv.Handler)
func New(opts Options) (*Negotiator, error) {
	if opts.Min.IsNull() {
		opts.Min = Min
	}
	if opts.Max.IsNull() {
		opts.Max = DefaultMax
	}
	if opts.Max.Compare(opts.Min) < 0 {
		return nil, fmt.Errorf("microversion: max %s is below min %s", opts.Max, opts.Min)
	}
	return &Negotiator{min: opts.Min, max: opts.Max}, nil
}

// Min returns the lowest version served; version documents report it as
// "min_version".
func (n *Negotiator) Min() Version { return n.min }

// Max returns the highest version served; version documents report it as
// "version".
func (n *Negotiator) Max() Version { return n.max }

// requested returns the version string the client asked for, "" when it
// asked for none (microversion-parse's get_version).
func requested(h http.Header) string {
	if vals := h.Values(HeaderAPIVersion); len(vals) > 0 {
		entries := strings.Split(strings.Join(vals, ","), ",")
		for i := len(entries) - 1; i >= 0; i-- {
			fields := strings.Fields(entries[i])
			if len(fields) < 2 || !strings.EqualFold(fields[0], ServiceType) {
				continue
			}
			return strings.TrimSpace(strings.TrimSpace(entries[i])[len(fields[0]):])
		}
	}
	if vals := h.Values(HeaderLegacyAPIVersion); len(vals) > 0 {
		entries := strings.Split(strings.Join(vals, ","), ",")
		return strings.TrimSpace(entries[len(entries)-1])
	}
	return ""
}

// Negotiate returns the version for a request with headers h. The error is a
// *fault.Error: 400 for a malformed version, 406 for one outside
// [Min, Max]; with a 406 the requested version is also returned.
func (n *Negotiator) Negotiate(h http.Header) (Version, error) {
	s := requested(h)
	switch s {
	case "":
		return n.min, nil
	case Latest:
		return n.max, nil
	}
	v, err := Parse(s)
	if err != nil {
		return Version{}, fault.Newf(http.StatusBadRequest,
			"API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)
	}
	if !v.Matches(n.min, n.max) {
		return v, fault.Newf(http.StatusNotAcceptable,
			"Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, n.min, n.max)
	}
	return v, nil
}

// Handler negotiates the version, stores it for FromContext and sets the
// version and Vary headers before the handler runs, so that every response,
// a fault or a recovered panic included, carries them.
func (n *Negotiator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := n.Negotiate(r.Header)
		h := w.Header()
		h.Add("Vary", VaryValue)
		if !v.IsNull() {
			h.Set(HeaderAPIVersion, ServiceType+" "+v.String())
			h.Set(HeaderLegacyAPIVersion, v.String())
		}
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), v)))
	})
}
