package keystone

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// serviceClient is the service's own session with Keystone: a gophercloud
// ProviderClient logged in with the [keystone_authtoken] credentials
// (AllowReauth, so a 401 caused by an expired or revoked service token is
// answered by one fresh login and a retry), and the identity v3 client that
// validates users' tokens with it.
type serviceClient struct {
	mu       sync.Mutex
	provider *gophercloud.ProviderClient
	identity *gophercloud.ServiceClient
	expires  time.Time
	// failedAt and failure are the last failed login: callers that waited
	// for it share its answer instead of each trying again in turn (a hung
	// Keystone would otherwise cost every queued request a full timeout).
	failedAt time.Time
	failure  error
}

// identity returns the identity client, logging in first when there is no
// service token yet or when it expires within RenewBefore (renewed before
// it expires, not only after Keystone refused it). A failed renewal keeps
// the current token while it is still valid.
func (a *Authenticator) identity(ctx context.Context) (*gophercloud.ServiceClient, error) {
	s := &a.svc
	arrived := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := a.clk.Now()
	if s.identity != nil && now.Add(a.o.RenewBefore).Before(s.expires) {
		return s.identity, nil
	}
	if s.identity != nil && now.Before(s.expires) && s.failedAt.After(arrived) {
		return s.identity, nil // a renewal failed while we waited; the token still works
	}
	if s.failure != nil && s.failedAt.After(arrived) {
		return nil, s.failure
	}
	err := a.login(ctx)
	if err != nil {
		s.failedAt = time.Now()
		if s.identity != nil && now.Before(s.expires) {
			s.failure = nil
			a.log.WarnContext(ctx, "renewing the service's Keystone token failed; using the current one until it expires", "err", err, "expires_at", s.expires)
			return s.identity, nil
		}
		s.failure = &UnavailableError{Err: fmt.Errorf("service login to %s: %w", a.o.AuthURL, err)}
		return nil, s.failure
	}
	s.failure = nil
	return s.identity, nil
}

// login authenticates the service (with s.mu held) and finds the identity
// endpoint in its catalog.
func (a *Authenticator) login(ctx context.Context) error {
	s := &a.svc
	p := s.provider
	if p == nil {
		var err error
		p, err = openstack.NewClient(a.o.AuthURL)
		if err != nil {
			return err
		}
		p.HTTPClient = *a.http
		p.UserAgent.Prepend("gonova-authtoken")
	}
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: a.o.AuthURL,
		Username:         a.o.Username, Password: a.o.Password,
		DomainID: a.o.UserDomainID, DomainName: a.o.UserDomainName,
		AllowReauth: true,
		Scope: &gophercloud.AuthScope{
			ProjectName: a.o.ProjectName,
			DomainID:    a.o.ProjectDomainID, DomainName: a.o.ProjectDomainName,
		},
	}
	if a.o.ProjectName == "" {
		ao.Scope = nil // an unscoped service token: Keystone still lets it validate with the admin role
	}
	// Bound the login by the client timeout even if the request's context
	// has none, and do not let one caller's cancellation fail the others.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.o.Timeout)
	defer cancel()
	if err := openstack.Authenticate(lctx, p, ao); err != nil {
		return err
	}
	expires, err := tokenExpiry(p)
	if err != nil {
		return err
	}
	ic, err := a.identityEndpoint(p)
	if err != nil {
		return err
	}
	s.provider, s.identity, s.expires = p, ic, expires
	a.log.InfoContext(ctx, "service authenticated to Keystone", "auth_url", a.o.AuthURL, "user", a.o.Username, "identity_endpoint", ic.Endpoint, "expires_at", expires)
	return nil
}

func tokenExpiry(p *gophercloud.ProviderClient) (time.Time, error) {
	r, ok := p.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return time.Time{}, fmt.Errorf("not a Keystone v3 login result (%T)", p.GetAuthResult())
	}
	t, err := r.ExtractToken()
	if err != nil {
		return time.Time{}, err
	}
	return t.ExpiresAt, nil
}

// identityEndpoint is where tokens are validated: IdentityURL when set,
// else the catalog's identity endpoint for interface and region, else
// auth_url itself (a catalog without one is unusual but not fatal).
func (a *Authenticator) identityEndpoint(p *gophercloud.ProviderClient) (*gophercloud.ServiceClient, error) {
	if a.o.IdentityURL != "" {
		return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: gophercloud.NormalizeURL(a.o.IdentityURL), Type: "identity"}, nil
	}
	ic, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{Region: a.o.RegionName, Availability: gophercloud.Availability(a.o.Interface)})
	if err == nil {
		return ic, nil
	}
	a.log.Warn("no identity endpoint in the service catalog; validating tokens at auth_url", "interface", a.o.Interface, "region", a.o.RegionName, "err", err)
	return openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
}

// fetch asks Keystone about token (GET /v3/auth/tokens, X-Subject-Token)
// with the service's token.
func (a *Authenticator) fetch(ctx context.Context, token string, allowExpired bool) (*Identity, error) {
	ic, err := a.identity(ctx)
	if err != nil {
		return nil, err
	}
	// GET /v3/auth/tokens as tokens.Get sends it, decoded straight into the
	// token's struct: tokens.GetResult would decode into a map and then
	// re-encode and decode it again to extract (the catalog makes that the
	// costly part of a validation). The query carries keystonemiddleware's
	// nocatalog and allow_expired.
	q := ""
	switch {
	case !a.o.IncludeServiceCatalog && allowExpired:
		q = "?nocatalog&allow_expired=1"
	case !a.o.IncludeServiceCatalog:
		q = "?nocatalog"
	case allowExpired:
		q = "?allow_expired=1"
	}
	var doc struct {
		Token *tokenBody `json:"token"`
	}
	_, err = ic.Get(ctx, ic.ServiceURL("auth", "tokens")+q, &doc, &gophercloud.RequestOpts{
		MoreHeaders: map[string]string{"X-Subject-Token": token},
		OkCodes:     []int{http.StatusOK, http.StatusNonAuthoritativeInfo},
	})
	if err != nil {
		return nil, classify(err)
	}
	if doc.Token == nil {
		a.log.WarnContext(ctx, "invalid token contents: no token object")
		return nil, ErrInvalidToken
	}
	body := doc.Token
	id, err := identityFrom(body)
	if err != nil {
		a.log.WarnContext(ctx, "token refused", "err", err)
		return nil, ErrInvalidToken
	}
	id.prepare()
	return id, nil
}

// classify maps Keystone's answer as keystonemiddleware does: 404 (and 400)
// means the token is not valid; anything else (401 after the one re-login, 5xx, no
// answer) means the token could not be checked.
func classify(err error) error {
	// 400: Keystone found the token malformed (keystonemiddleware would say
	// 503; the fault is the client's, so gonova says 401).
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) || gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		return ErrInvalidToken
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	return &UnavailableError{Err: err}
}
