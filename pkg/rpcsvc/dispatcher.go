package rpcsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

var parseVersion = wire.ParseVersion

// dispatcher routes a request to an endpoint method by oslo's rules.
type dispatcher struct {
	endpoints  []*endpoint
	serializer Serializer
}

func newDispatcher(eps []Endpoint, ser Serializer) (*dispatcher, error) {
	if len(eps) == 0 {
		return nil, fmt.Errorf("rpcsvc: a server needs at least one endpoint")
	}
	d := &dispatcher{serializer: ser}
	if d.serializer == nil {
		d.serializer = NoOpSerializer{}
	}
	for _, ep := range eps {
		e, err := buildEndpoint(ep)
		if err != nil {
			return nil, err
		}
		d.endpoints = append(d.endpoints, e)
	}
	return d, nil
}

// methodNames lists every served wire method name (for metric labels).
func (d *dispatcher) methodNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range d.endpoints {
		for n := range e.methods {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// lookup finds the method for req, or NoSuchMethod / UnsupportedVersion.
func (d *dispatcher) lookup(req *wire.Request) (*method, error) {
	matched := false
	for _, e := range d.endpoints {
		if e.namespace != req.Namespace || !wire.VersionCompatible(e.version, req.Version) {
			continue
		}
		matched = true
		if strings.HasPrefix(req.Method, "_") {
			continue
		}
		if m, ok := e.methods[req.Method]; ok {
			return m, nil
		}
	}
	if matched {
		return nil, noSuchMethod(req.Method)
	}
	return nil, unsupportedVersion(req.Version, req.Method)
}

// badArgs is replied as Python's TypeError, what a Python endpoint raises for
// arguments it cannot take.
type badArgs struct {
	method string
	err    error
}

func (e *badArgs) Error() string {
	return fmt.Sprintf("%s() got arguments it cannot take: %v", e.method, e.err)
}
func (e *badArgs) OsloClass() (module, class string) { return "builtins", "TypeError" }

// panicError is a handler panic, replied with the Go stack as traceback.
type panicError struct {
	value any
	stack []string
}

func (e *panicError) Error() string                     { return fmt.Sprintf("handler panicked: %v", e.value) }
func (e *panicError) OsloClass() (module, class string) { return "gonova", "HandlerPanic" }

// invoke runs m for req with ctx. The error is the handler's, a *badArgs, or
// a *panicError.
func (d *dispatcher) invoke(ctx context.Context, m *method, req *wire.Request) (result json.RawMessage, err error) {
	var inBuf [3]reflect.Value
	in := append(inBuf[:0], m.recv, reflect.ValueOf(ctx))
	if m.argType != nil {
		raw, err := d.serializer.DeserializeEntity(ctx, req.Args)
		if err != nil {
			return nil, &badArgs{method: m.wireName, err: fmt.Errorf("serializer: %w", err)}
		}
		ptr := reflect.New(m.argType)
		if err := json.Unmarshal(raw, ptr.Interface()); err != nil {
			return nil, &badArgs{method: m.wireName, err: err}
		}
		in = append(in, ptr.Elem())
	}
	defer func() {
		if r := recover(); r != nil {
			result = nil
			err = &panicError{value: r, stack: strings.Split(strings.TrimSpace(string(debug.Stack())), "\n")}
		}
	}()
	out := m.fn.Call(in)
	if e := out[len(out)-1]; !e.IsNil() {
		return nil, e.Interface().(error)
	}
	if !m.result {
		return rawNull, nil
	}
	v, err := d.serializer.SerializeEntity(ctx, out[0].Interface())
	if err != nil {
		return nil, fmt.Errorf("rpcsvc: serializing the result of %s: %w", m.wireName, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("rpcsvc: encoding the result of %s: %w", m.wireName, err)
	}
	return b, nil
}

func isRejection(err error) bool {
	var ba *badArgs
	return errors.Is(err, ErrNoSuchMethod) || errors.Is(err, ErrUnsupportedVersion) || errors.As(err, &ba)
}
