package app

import (
	"fmt"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/auth/keystone"
)

// Authenticator returns the authenticator [api] auth_strategy names, for
// an HTTP service's auth.Middleware:
//
//   - keystone: Keystone token validation configured by [keystone_authtoken]
//     (keystone.OptionsFromConfig), logging on a.Log and, when a.Metrics is
//     set, registering gonova_keystone_* there; it is closed (its memcached
//     connections) by a.Close.
//   - noauth2: auth.NoAuth, trusting "user:project" tokens (development).
//
// Anything else, or keystone options it cannot use, is an *Error with
// ExitConfig, the exit code for a bad configuration. Call it once per App:
// the metrics are registered once.
//
//	authn, err := a.Authenticator()
//	if err != nil { return nil, err }
//	r.Use(auth.Middleware(authn))
func (a *App) Authenticator() (auth.Authenticator, error) {
	switch s := a.Cfg.API.AuthStrategy; s {
	case "noauth2":
		return auth.NoAuth{}, nil
	case "keystone":
		o := keystone.OptionsFromConfig(a.Cfg.KeystoneAuthtoken)
		o.Logger = a.Log
		if a.Metrics != nil {
			o.Registerer = a.Metrics
		}
		ka, err := keystone.New(o)
		if err != nil {
			return nil, &Error{Code: ExitConfig, Err: fmt.Errorf("[api] auth_strategy = keystone: %w", err)}
		}
		a.OnClose(func() { _ = ka.Close() })
		return ka, nil
	default:
		return nil, &Error{Code: ExitConfig, Err: fmt.Errorf("[api] auth_strategy = %q is not supported: set keystone or noauth2 (development)", s)}
	}
}
