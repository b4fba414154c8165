package rpcsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// RemoteError is an error raised by the remote handler, Go or Python, as it
// came back in the reply's failure.
//
//	var rerr *rpcsvc.RemoteError
//	if errors.As(err, &rerr) && rerr.Class == "InstanceNotFound" { ... }
type RemoteError struct {
	// Class and Module name the exception (Python's class name and module; for
	// a Go handler, see Classifier).
	Class  string
	Module string
	// Message is str(exception) (or the Go error text).
	Message string
	// Traceback is the remote traceback, one entry per line group.
	Traceback []string
	// Args and Kwargs are the exception's args (a JSON list) and kwargs (a
	// JSON object), as oslo sends them.
	Args   json.RawMessage
	Kwargs json.RawMessage
}

func (e *RemoteError) Error() string {
	if e.Module != "" {
		return fmt.Sprintf("remote error: %s.%s: %s", e.Module, e.Class, e.Message)
	}
	return fmt.Sprintf("remote error: %s: %s", e.Class, e.Message)
}

// Is lets errors.Is(err, ErrNoSuchMethod) and errors.Is(err,
// ErrUnsupportedVersion) work on errors that crossed the wire.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrNoSuchMethod:
		return e.Class == "NoSuchMethod"
	case ErrUnsupportedVersion:
		return e.Class == "UnsupportedVersion"
	}
	return false
}

// Classifier is implemented by handler errors that name the Python exception
// a Python caller should see, so that a Python caller can catch it by class.
// Errors that do not implement it are reported with the Go type's name and
// package path (module "errors", class "errorString" for errors.New).
type Classifier interface {
	OsloClass() (module, class string)
}

// Errors of dispatch. Server side they are what the dispatcher refused; client
// side a RemoteError matches them with errors.Is.
var (
	// ErrNoSuchMethod: an endpoint matched the namespace and version but has
	// no such method (or the name starts with "_").
	ErrNoSuchMethod = errors.New("rpcsvc: no such method")
	// ErrUnsupportedVersion: no endpoint serves the namespace and version.
	ErrUnsupportedVersion = errors.New("rpcsvc: unsupported version")
	// ErrConnectionLost: the broker connection dropped while a call waited for
	// its reply.
	ErrConnectionLost = errors.New("rpcsvc: connection to the broker lost while waiting for the reply")
	// ErrTimeout is matched (errors.Is) by every *TimeoutError.
	ErrTimeout = errors.New("rpcsvc: call timed out")
	// ErrVersionCap: the requested version is above the client's version cap.
	ErrVersionCap = errors.New("rpcsvc: version above the version cap")
	// ErrUnroutable is matched (errors.Is) by every *UnroutableError: the
	// broker took a cast or call but no queue was bound for it.
	ErrUnroutable = driver.ErrUnroutable
	// ErrUnavailable is matched (errors.Is) by every *UnavailableError: the
	// broker could not be reached in time.
	ErrUnavailable = errors.New("rpcsvc: the message broker is unavailable")
)

// UnroutableError is returned by Cast and Call when the broker returned the
// message for Options.UnroutableTimeout: no queue is bound for the target
// (no server of the topic and host has declared its queue, for example
// after a broker restart with non-durable queues, before the servers
// reconnected). The message was not delivered. Fanout casts are never
// unroutable: a fanout exchange without queues is a fanout to no one.
//
// It offers ServiceUnavailable() true, so pkg/wsgi/fault answers 503.
type UnroutableError struct {
	Target Target
	// Waited is how long the message was retried.
	Waited time.Duration
	Err    *driver.UnroutableError
}

func (e *UnroutableError) Error() string {
	return fmt.Sprintf("rpcsvc: no server of %s has a queue on the broker (message returned for %s): %v", e.Target, e.Waited.Round(time.Millisecond), e.Err)
}

// Is makes errors.Is(err, ErrUnroutable) true.
func (e *UnroutableError) Is(target error) bool { return target == ErrUnroutable }

// ServiceUnavailable marks the error as a backend outage (pkg/wsgi/fault).
func (e *UnroutableError) ServiceUnavailable() bool { return true }

// UnavailableError is returned by Cast and Call when the broker connection
// was down (or a publish went unconfirmed) for Options.UnavailableTimeout:
// the message was not sent, or not confirmed.
//
// It offers ServiceUnavailable() true, so pkg/wsgi/fault answers 503.
type UnavailableError struct {
	// Waited is how long the client waited for the broker.
	Waited time.Duration
	// Err is the last failure.
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("rpcsvc: the message broker is unavailable (waited %s): %v", e.Waited.Round(time.Millisecond), e.Err)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the last failure.
func (e *UnavailableError) Unwrap() error { return e.Err }

// ServiceUnavailable marks the error as a backend outage (pkg/wsgi/fault).
func (e *UnavailableError) ServiceUnavailable() bool { return true }

// TimeoutError is returned by Call when no reply came within the timeout
// (oslo's MessagingTimeout).
type TimeoutError struct {
	Method  string
	Target  Target
	Timeout time.Duration
	MsgID   string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("rpcsvc: timed out after %s waiting for a reply to %q (%s, msg_id %s)", e.Timeout, e.Method, e.Target, e.MsgID)
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// dispatchError is an oslo dispatcher exception, replied with oslo's class and
// module so a Python caller sees the same exception it would from Python.
type dispatchError struct {
	class, msg string
	args       []any
	kind       error
}

func (e *dispatchError) Error() string { return e.msg }
func (e *dispatchError) Unwrap() error { return e.kind }
func (e *dispatchError) OsloClass() (module, class string) {
	return "oslo_messaging.rpc.dispatcher", e.class
}

func noSuchMethod(method string) error {
	return &dispatchError{class: "NoSuchMethod", msg: "Endpoint does not support RPC method " + method, args: []any{method}, kind: ErrNoSuchMethod}
}

func unsupportedVersion(version, method string) error {
	if version == "" {
		version = "1.0"
	}
	return &dispatchError{class: "UnsupportedVersion", msg: fmt.Sprintf("Endpoint does not support RPC version %s. Attempted method: %s", version, method), args: []any{version}, kind: ErrUnsupportedVersion}
}

// retryable marks a cast handler error for redelivery.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// Retryable marks a cast handler's error as transient: the message is
// redelivered (up to Options.MaxDeliveryAttempts, then dead-lettered) instead
// of dropped. For calls it changes nothing: the error is replied.
//
//	if err := db.Save(ctx, x); err != nil { return rpcsvc.Retryable(err) }
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

// failureOf turns a handler error into the wire failure a Python peer
// understands.
func failureOf(err error, tb []string) *wire.Failure {
	f := &wire.Failure{Message: err.Error(), Traceback: tb}
	var rerr *RemoteError
	var cl Classifier
	var de *dispatchError
	switch {
	case errors.As(err, &rerr):
		// Passing on a remote error keeps its identity.
		f.Class, f.Module, f.Message = rerr.Class, rerr.Module, rerr.Message
		f.Traceback = append(append([]string{}, rerr.Traceback...), tb...)
		f.Args, f.Kwargs = rerr.Args, rerr.Kwargs
		return f
	case errors.As(err, &de):
		f.Module, f.Class = de.OsloClass()
		f.Args, _ = json.Marshal(de.args)
		return f
	case errors.As(err, &cl):
		f.Module, f.Class = cl.OsloClass()
	default:
		f.Module, f.Class = goErrorClass(err)
	}
	f.Args, _ = json.Marshal([]string{f.Message})
	return f
}

func goErrorClass(err error) (module, class string) {
	// Unwrap fmt.Errorf-style wrappers down to the most specific named type.
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	module = strings.ReplaceAll(t.PkgPath(), "/", ".")
	class = t.Name()
	if class == "" {
		class = "Error"
	}
	if module == "" {
		module = "gonova"
	}
	return module, class
}

func remoteErrorOf(f *wire.Failure) *RemoteError {
	return &RemoteError{Class: f.Class, Module: f.Module, Message: f.Message, Traceback: f.Traceback, Args: f.Args, Kwargs: f.Kwargs}
}
