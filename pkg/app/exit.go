package app

import (
	"errors"

	"github.com/gonova/gonova/pkg/launcher"
)

// Exit codes of Main and Run. They say what failed, so an init system or an
// operator can tell a typo in nova.conf (do not restart) from a database that
// is not up yet (restart later).
const (
	// ExitOK: every service stopped cleanly.
	ExitOK = 0
	// ExitFailure: a service failed to build, to start or while running, or
	// the graceful shutdown timed out.
	ExitFailure = 1
	// ExitConfig: the command line or the configuration is wrong.
	ExitConfig = 2
	// ExitDatabase: the database cannot be reached, or its schema is not the
	// one this release needs (run nova-manage db sync).
	ExitDatabase = 3
	// ExitTransport: the RPC transport (transport_url) cannot be opened.
	ExitTransport = 4
)

// Error is a start-up failure with the exit code that names its cause.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode maps err to the process exit code: an *Error's own code, the
// launcher's code for its errors, ExitOK for nil, ExitFailure otherwise.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return launcher.ExitCode(err)
}
