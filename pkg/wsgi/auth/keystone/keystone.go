package keystone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/clock"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Defaults of the options that have no nova.conf counterpart.
const (
	DefaultCacheSize     = 10000
	DefaultTimeout       = 10 * time.Second
	DefaultRenewBefore   = 5 * time.Minute
	DefaultMemcacheDelay = 500 * time.Millisecond
)

// MessageUnavailable is keystonemiddleware's 503 message.
const MessageUnavailable = "The Keystone service is temporarily unavailable."

// Options configure an Authenticator: nova's [keystone_authtoken] (see
// OptionsFromConfig) plus what tests and embedders may want to set.
type Options struct {
	// WWWAuthenticateURI is sent in 401 answers; default AuthURL.
	WWWAuthenticateURI string
	// AuthURL is the identity endpoint the service logs in to (required).
	AuthURL string
	// The service's own credentials (auth_type = password).
	Username, Password                 string
	ProjectName                        string
	UserDomainName, UserDomainID       string
	ProjectDomainName, ProjectDomainID string
	// RegionName and Interface choose the identity endpoint in the
	// service's catalog that validates tokens (Interface default internal).
	RegionName, Interface string
	// IdentityURL, when set, validates tokens there instead of at the
	// catalog's endpoint (tests put a proxy in front of Keystone with it).
	IdentityURL string
	// Cafile and Insecure set up TLS to Keystone (ignored with HTTPClient).
	Cafile   string
	Insecure bool
	// TokenCacheTime is how long a validation is cached; <= 0 disables
	// caching. Never past the token's expiry.
	TokenCacheTime time.Duration
	// CacheSize bounds the in-process cache (default DefaultCacheSize).
	CacheSize int
	// MemcachedServers, host:port, share validations between processes.
	MemcachedServers []string
	// MemcacheTimeout bounds each memcached call (default 500 ms).
	MemcacheTimeout time.Duration
	// ServiceTokenRoles: an X-Service-Token must carry one of them when
	// ServiceTokenRolesRequired.
	ServiceTokenRoles         []string
	ServiceTokenRolesRequired bool
	// DelayAuthDecision passes unauthenticated requests on (Middleware
	// only) with X-Identity-Status: Invalid.
	DelayAuthDecision bool
	// IncludeServiceCatalog asks Keystone for the catalog and passes it on.
	IncludeServiceCatalog bool
	// HTTPClient talks to Keystone; default: a client with Timeout and TLS
	// from Cafile/Insecure.
	HTTPClient *http.Client
	// Timeout bounds each request to Keystone (default DefaultTimeout).
	Timeout time.Duration
	// RenewBefore renews the service's token when it expires within this
	// (default DefaultRenewBefore).
	RenewBefore time.Duration
	// Clock is the time source (default the real clock).
	Clock clock.Clock
	// Logger receives logs (default slog.Default()).
	Logger *slog.Logger
	// Registerer, when set, gets the validation metrics.
	Registerer prometheus.Registerer
}

// OptionsFromConfig maps nova's [keystone_authtoken] onto Options.
func OptionsFromConfig(k config.KeystoneAuthtokenOptions) Options {
	return Options{
		WWWAuthenticateURI: k.WWWAuthenticateURI, AuthURL: k.AuthURL,
		Username: k.Username, Password: k.Password, ProjectName: k.ProjectName,
		UserDomainName: k.UserDomainName, UserDomainID: k.UserDomainID,
		ProjectDomainName: k.ProjectDomainName, ProjectDomainID: k.ProjectDomainID,
		RegionName: k.RegionName, Interface: k.Interface, Cafile: k.Cafile, Insecure: k.Insecure,
		TokenCacheTime:    time.Duration(k.TokenCacheTime) * time.Second,
		MemcachedServers:  k.MemcachedServers,
		ServiceTokenRoles: k.ServiceTokenRoles, ServiceTokenRolesRequired: k.ServiceTokenRolesRequired,
		DelayAuthDecision: k.DelayAuthDecision, IncludeServiceCatalog: k.IncludeServiceCatalog,
	}
}

// ErrInvalidToken is the answer for a token Keystone does not know, that
// was revoked, or that expired.
var ErrInvalidToken = errors.New("keystone: token authorization failed")

// UnavailableError is the answer when Keystone could not be asked: not
// reachable, refusing the service's own credentials, or answering an error.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "keystone unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Authenticator validates Keystone tokens: keystonemiddleware's auth_token.
// It is an auth.Authenticator (for auth.Middleware, as nova's pipeline uses
// it) and has Middleware for any other HTTP service. Safe for concurrent use.
type Authenticator struct {
	o      Options
	log    *slog.Logger
	clk    clock.Clock
	http   *http.Client
	local  *lru    // nil: no caching
	shared *shared // nil: no memcached
	svc    serviceClient
	m      *metrics

	serviceWarn sync.Once
}

// New returns an Authenticator. It does not contact Keystone: the service
// logs in on the first validation, so an API starts while Keystone is down
// and answers 503 until it is back.
//
//	a, err := keystone.New(keystone.OptionsFromConfig(cfg.KeystoneAuthtoken))
//	defer a.Close()
//	r.Use(auth.Middleware(a)) // or r.Use(a.Middleware)
func New(o Options) (*Authenticator, error) {
	if o.AuthURL == "" {
		return nil, errors.New("keystone: [keystone_authtoken] auth_url is required")
	}
	if o.Username == "" || o.Password == "" {
		return nil, errors.New("keystone: [keystone_authtoken] username and password are required (auth_type = password)")
	}
	if o.Interface == "" {
		o.Interface = "internal"
	}
	if o.WWWAuthenticateURI == "" {
		o.WWWAuthenticateURI = o.AuthURL
	}
	if o.UserDomainName == "" && o.UserDomainID == "" {
		o.UserDomainID = "default"
	}
	if o.ProjectDomainName == "" && o.ProjectDomainID == "" {
		o.ProjectDomainID = "default"
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RenewBefore <= 0 {
		o.RenewBefore = DefaultRenewBefore
	}
	if o.MemcacheTimeout <= 0 {
		o.MemcacheTimeout = DefaultMemcacheDelay
	}
	a := &Authenticator{o: o, log: o.Logger, clk: clock.OrReal(o.Clock), http: o.HTTPClient}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.http == nil {
		c, err := newHTTPClient(o)
		if err != nil {
			return nil, err
		}
		a.http = c
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("keystone: metrics: %w", err)
	}
	a.m = m
	if o.TokenCacheTime > 0 {
		a.local = newLRU(o.CacheSize)
		if len(o.MemcachedServers) > 0 {
			a.shared = newShared(o.MemcachedServers, o.MemcacheTimeout)
		}
	}
	if !o.ServiceTokenRolesRequired {
		a.log.Warn("keystone_authtoken service_token_roles_required is false: any valid token is accepted as a service token")
	}
	return a, nil
}

func newHTTPClient(o Options) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	if o.Cafile != "" || o.Insecure {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // insecure is the operator's choice
		if o.Cafile != "" {
			pem, err := os.ReadFile(o.Cafile)
			if err != nil {
				return nil, fmt.Errorf("keystone: cafile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("keystone: cafile %s holds no PEM certificate", o.Cafile)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr, Timeout: o.Timeout}, nil
}

// Close releases the memcached connections.
func (a *Authenticator) Close() error {
	if a.shared != nil {
		return a.shared.close()
	}
	return nil
}

// Challenge is the WWW-Authenticate value of 401 answers (auth.Challenger).
func (a *Authenticator) Challenge() string {
	return `Keystone uri="` + a.o.WWWAuthenticateURI + `"`
}

// result is what process found in one request.
type result struct {
	user, service   *Identity
	userToken       string
	servicePresent  bool
	serviceAccepted bool
}

// accepted is keystonemiddleware's test: a valid user token, and a valid
// service token if one was sent.
func (r *result) accepted() bool {
	return r.user != nil && (!r.servicePresent || r.serviceAccepted)
}

// process strips the identity headers a client may have forged, validates
// X-Service-Token and X-Auth-Token, and sets the headers keystonemiddleware
// sets. It fails only with a 503 fault (Keystone unavailable, without
// delay_auth_decision).
func (a *Authenticator) process(r *http.Request) (*result, error) {
	h := r.Header
	stripIdentityHeaders(h)
	ctx := r.Context()
	res := &result{}
	allowExpired := false
	if st := strings.TrimSpace(h.Get(HeaderServiceToken)); st != "" {
		res.servicePresent = true
		id, err := a.validate(ctx, st, false)
		if err := a.unavailable(err); err != nil {
			return nil, err
		}
		if err == nil {
			roleOK := id.HasRole(a.o.ServiceTokenRoles...)
			switch {
			case roleOK:
				res.serviceAccepted = true
			case !a.o.ServiceTokenRolesRequired:
				a.serviceWarn.Do(func() {
					a.log.WarnContext(ctx, "a valid token without a service role was sent as a service token; accepted because service_token_roles_required is false")
				})
				res.serviceAccepted = true
			default:
				a.log.InfoContext(ctx, "service token lacks the service_token_roles", "roles", strings.Join(id.Roles, ","))
			}
			allowExpired = roleOK
			if res.serviceAccepted {
				res.service = id
			}
		} else {
			a.log.InfoContext(ctx, "invalid service token")
		}
		h[HeaderServiceStatus] = []string{status(res.serviceAccepted)}
	}
	ut := strings.TrimSpace(h.Get(HeaderAuthToken))
	if ut == "" {
		ut = strings.TrimSpace(h.Get(HeaderStorageToken))
	}
	if ut != "" {
		res.userToken = ut
		id, err := a.validate(ctx, ut, allowExpired)
		if err := a.unavailable(err); err != nil {
			return nil, err
		}
		if err == nil {
			res.user = id
		} else {
			a.log.InfoContext(ctx, "invalid user token")
		}
	}
	h[HeaderIdentityStatus] = []string{status(res.user != nil)}
	if res.user != nil {
		setUserHeaders(h, res.user)
		if a.o.IncludeServiceCatalog && res.user.catalogHeader != "" {
			h[HeaderServiceCatalog] = []string{res.user.catalogHeader}
		}
	}
	if res.service != nil {
		setIdentityHeaders(h, "-Service", res.service)
	}
	return res, nil
}

// unavailable turns an UnavailableError into the 503 fault, or, with
// delay_auth_decision, into nil (the token then counts as invalid).
func (a *Authenticator) unavailable(err error) error {
	if err == nil {
		return nil
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		return nil
	}
	a.log.Error("unable to validate token", "err", ue.Err)
	if a.o.DelayAuthDecision {
		return nil
	}
	return &fault.Error{Code: http.StatusServiceUnavailable, Message: MessageUnavailable, Err: ue}
}

func isUnavailable(err error) bool {
	var ue *UnavailableError
	return errors.As(err, &ue)
}

func status(ok bool) string {
	if ok {
		return StatusConfirmed
	}
	return StatusInvalid
}

func (r *result) context() *auth.Context {
	u := r.user
	c := &auth.Context{
		UserID: u.UserID, ProjectID: u.ProjectID, Roles: append([]string(nil), u.Roles...),
		UserName: u.UserName, UserDomainID: u.UserDomainID, UserDomainName: u.UserDomainName,
		ProjectName: u.ProjectName, ProjectDomainID: u.ProjectDomainID, ProjectDomainName: u.ProjectDomainName,
		DomainID: u.DomainID, DomainName: u.DomainName, SystemScope: u.SystemScope,
		IsAdminProject: u.IsAdminProject, ServiceCatalog: u.Catalog, AuthToken: r.userToken,
	}
	// nova's default context_is_admin rule: role:admin.
	c.IsAdmin = c.HasRole("admin")
	return c
}

// Authenticate implements auth.Authenticator as keystonemiddleware followed
// by nova's NovaKeystoneContext: the caller's Context from a valid token, a
// 401 fault otherwise (delay_auth_decision or not: nova's context middleware
// refuses an unconfirmed identity too), a 503 fault when Keystone cannot be
// asked. The request's identity headers are replaced as keystonemiddleware
// does, for handlers that read them.
func (a *Authenticator) Authenticate(r *http.Request) (*auth.Context, error) {
	res, err := a.process(r)
	if err != nil {
		return nil, err
	}
	if !res.accepted() {
		return nil, auth.ErrUnauthorized()
	}
	return res.context(), nil
}

// Middleware is keystonemiddleware's auth_token for any HTTP service: the
// identity headers are replaced, a request without a valid token gets 401
// with WWW-Authenticate (or, with delay_auth_decision, goes on with
// X-Identity-Status: Invalid and no auth.Context), and an authenticated one
// goes on with the caller in auth.FromContext. A 401 from next also gets the
// WWW-Authenticate header.
//
//	r.Use(a.Middleware)
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	challenge := a.Challenge()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := a.process(r)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		ctx := r.Context()
		if !res.accepted() {
			if !a.o.DelayAuthDecision {
				w.Header().Set(HeaderWWWAuthenticate, challenge)
				fault.Write(w, r, auth.ErrUnauthorized())
				return
			}
		} else {
			ctx = auth.NewContext(ctx, res.context())
		}
		next.ServeHTTP(&challengeWriter{ResponseWriter: w, challenge: challenge}, r.WithContext(ctx))
	})
}

// challengeWriter adds WWW-Authenticate to a 401 written downstream
// (keystonemiddleware's process_response).
type challengeWriter struct {
	http.ResponseWriter
	challenge string
}

func (w *challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		w.Header().Set(HeaderWWWAuthenticate, w.challenge)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *challengeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Validate returns what Keystone says of token, from the cache when it can:
// ErrInvalidToken when the token is unknown, revoked or expired (an expired
// token is refused even when cached), an *UnavailableError when Keystone
// cannot be asked.
func (a *Authenticator) Validate(ctx context.Context, token string) (*Identity, error) {
	return a.validate(ctx, token, false)
}

// MaxTokenSize bounds the tokens sent to Keystone: fernet tokens are under
// 255 bytes (Keystone's max_token_size); a larger one is refused unasked.
const MaxTokenSize = 8192

func (a *Authenticator) validate(ctx context.Context, token string, allowExpired bool) (*Identity, error) {
	id, cached, err := a.lookup(ctx, token, allowExpired)
	switch {
	case err == nil && cached:
		a.m.cached.Inc()
	case err == nil:
		a.m.valid.Inc()
	case isUnavailable(err):
		a.m.unavailable.Inc()
	default:
		a.m.invalid.Inc()
	}
	return id, err
}

// lookup is validate without the counting; cached tells whether a cache
// answered.
func (a *Authenticator) lookup(ctx context.Context, token string, allowExpired bool) (*Identity, bool, error) {
	if len(token) > MaxTokenSize {
		return nil, false, ErrInvalidToken
	}
	now := a.clk.Now()
	var key string
	if a.local != nil {
		key = cacheKey(token)
		if id, ok := a.local.get(key, now); ok {
			id, err := a.fresh(key, id, now, allowExpired)
			return id, true, err
		}
		if a.shared != nil {
			id, err := a.shared.get(key)
			if err != nil {
				a.log.WarnContext(ctx, "memcached token cache unavailable; asking Keystone", "err", err)
			} else if id != nil {
				id.prepare()
				a.local.add(key, id, a.deadline(now, id))
				id, err := a.fresh(key, id, now, allowExpired)
				return id, true, err
			}
		}
	}
	start := time.Now()
	id, err := a.fetch(ctx, token, allowExpired)
	a.m.observeKeystone(start)
	if err != nil {
		return nil, false, err
	}
	if a.local != nil {
		if d := a.deadline(now, id); d.After(now) {
			a.local.add(key, id, d)
			if a.shared != nil {
				if err := a.shared.set(key, id, d.Sub(now)); err != nil {
					a.log.WarnContext(ctx, "memcached token cache unavailable; not shared", "err", err)
				}
			}
		}
	}
	id, err = a.fresh("", id, now, allowExpired)
	return id, false, err
}

// deadline is when a cache entry for id ends: token_cache_time from now,
// never past the token's expiry.
func (a *Authenticator) deadline(now time.Time, id *Identity) time.Time {
	d := now.Add(a.o.TokenCacheTime)
	if id.ExpiresAt.Before(d) {
		d = id.ExpiresAt
	}
	return d
}

func (a *Authenticator) fresh(key string, id *Identity, now time.Time, allowExpired bool) (*Identity, error) {
	if !allowExpired && id.Expired(now) {
		if key != "" {
			a.local.remove(key)
		}
		return nil, ErrInvalidToken
	}
	return id, nil
}
