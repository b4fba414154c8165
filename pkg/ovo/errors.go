package ovo

import (
	"errors"
	"strings"
)

// The kinds of failure; every error from this package wraps one (errors.Is).
var (
	// ErrUnknownObject: a primitive names a class the registry does not know
	// (or not the class the caller decodes into), or another namespace.
	ErrUnknownObject = errors.New("unknown object")
	// ErrIncompatibleVersion: a primitive's version has another major, or is a
	// newer minor carrying fields this side does not know; or a backport
	// target this class cannot reach.
	ErrIncompatibleVersion = errors.New("incompatible version")
	// ErrInvalid: a field's value does not fit its type (or its Go field).
	ErrInvalid = errors.New("invalid value")
	// ErrMalformed: the primitive is not an oslo object primitive.
	ErrMalformed = errors.New("malformed primitive")
)

// Error says which object, at which version, and which field failed. Nested
// objects chain: "ovo: InstanceActionPayload 1.8: field flavor: FlavorPayload
// 1.4: field swap: invalid value: null for a field that is not nullable".
type Error struct {
	Object  string // class name, as on the wire
	Version string // the primitive's version (decoding) or the target (encoding)
	Field   string // the field, or ""
	Err     error  // a wrapped sentinel with detail, or a nested *Error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ovo: ")
	e.write(&b)
	return b.String()
}

func (e *Error) write(b *strings.Builder) {
	b.WriteString(e.Object)
	if e.Version != "" {
		b.WriteString(" ")
		b.WriteString(e.Version)
	}
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	var inner *Error
	if errors.As(e.Err, &inner) && inner == e.Err {
		inner.write(b)
		return
	}
	b.WriteString(e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }
