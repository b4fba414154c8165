package db

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable marks an error caused by the database being down or
// unreachable, not by the request: test it with errors.Is. HTTP services
// answer such errors with 503 (pkg/wsgi/fault), never 500.
var ErrUnavailable = errors.New("the database is unavailable")

// unavailableError wraps a connection-level failure. Its ServiceUnavailable
// method is the contract pkg/wsgi/fault looks for, so neither package imports
// the other.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string            { return ErrUnavailable.Error() + ": " + e.err.Error() }
func (e *unavailableError) Unwrap() []error          { return []error{ErrUnavailable, e.err} }
func (e *unavailableError) ServiceUnavailable() bool { return true }

// Classify returns err marked with ErrUnavailable when it is a failure to
// reach or keep the database (connection refused or reset, the server
// shutting down or refusing connections, too many clients, a timeout while
// connecting) and err unchanged otherwise. Stores call it on every error they
// return, so callers can tell an outage from a bad request.
func Classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !IsConnectionError(err) {
		return err
	}
	return &unavailableError{err: err}
}

// IsConnectionError reports whether err means the database could not be
// reached or dropped the connection. A context the caller cancelled is not
// one: the client went away, the database did not.
func IsConnectionError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin/crash shutdown,
		// cannot connect now; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// IsInvalidInput reports whether err is Postgres refusing a value (SQLSTATE
// class 22, data exception: a string too long, invalid UTF-8, a NUL in
// jsonb, a number out of range). Stores validate first; this is the net
// under that check, so a value that slipped through is a 400, not a 500.
func IsInvalidInput(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}
