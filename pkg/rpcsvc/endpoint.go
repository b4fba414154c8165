package rpcsvc

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// Endpoint is a Go value whose methods are served over RPC under a namespace
// and version, as an oslo endpoint with its `target`.
//
// Served methods are the exported methods of one of these forms:
//
//	func (e *T) Method(ctx context.Context, args A) (R, error)
//	func (e *T) Method(ctx context.Context, args A) error
//	func (e *T) Method(ctx context.Context) (R, error)
//	func (e *T) Method(ctx context.Context) error
//
// A is decoded from the request's `args` object by JSON field names (a struct,
// a pointer to one, or a map); R is encoded as the reply's result. The wire
// name is the snake_case of the Go name (GetBackdoorPort -> get_backdoor_port)
// unless Names says otherwise. Other methods are not served.
//
//	rpcsvc.Endpoint{Namespace: "baseapi", Version: "1.1", Impl: &BaseAPI{}}
type Endpoint struct {
	Namespace string
	// Version is the highest version served; empty means 1.0.
	Version string
	Impl    any
	// Names maps wire names to Go method names, overriding snake_case.
	Names map[string]string
}

type method struct {
	wireName string
	goName   string
	// fn is the method as a function of its receiver recv: calling it so
	// spares reflect a method value per call.
	fn      reflect.Value
	recv    reflect.Value
	argType reflect.Type // nil when the method takes no args
	result  bool
}

type endpoint struct {
	namespace string
	version   string
	methods   map[string]*method
}

var (
	ctxType = reflect.TypeFor[context.Context]()
	errType = reflect.TypeFor[error]()
)

func buildEndpoint(ep Endpoint) (*endpoint, error) {
	if ep.Impl == nil {
		return nil, fmt.Errorf("rpcsvc: endpoint (namespace %q) has no Impl", ep.Namespace)
	}
	version := ep.Version
	if version == "" {
		version = "1.0"
	}
	if _, _, err := parseVersion(version); err != nil {
		return nil, fmt.Errorf("rpcsvc: endpoint %T: %w", ep.Impl, err)
	}
	v := reflect.ValueOf(ep.Impl)
	t := v.Type()
	out := &endpoint{namespace: ep.Namespace, version: version, methods: map[string]*method{}}
	goToWire := map[string]string{}
	for wireName, goName := range ep.Names {
		goToWire[goName] = wireName
	}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		mt := m.Type // includes the receiver
		if !servable(mt) {
			if _, named := goToWire[m.Name]; named {
				return nil, fmt.Errorf("rpcsvc: endpoint %T: method %s named in Names has no servable signature (func(ctx context.Context[, args A]) ([R, ]error))", ep.Impl, m.Name)
			}
			continue
		}
		wireName, ok := goToWire[m.Name]
		if !ok {
			wireName = snakeCase(m.Name)
		}
		if prev, dup := out.methods[wireName]; dup {
			return nil, fmt.Errorf("rpcsvc: endpoint %T: methods %s and %s both serve %q", ep.Impl, prev.goName, m.Name, wireName)
		}
		md := &method{wireName: wireName, goName: m.Name, fn: m.Func, recv: v, result: mt.NumOut() == 2}
		if mt.NumIn() == 3 {
			md.argType = mt.In(2)
		}
		out.methods[wireName] = md
		delete(goToWire, m.Name)
	}
	for goName, wireName := range goToWire {
		return nil, fmt.Errorf("rpcsvc: endpoint %T: Names maps %q to method %s, which does not exist", ep.Impl, wireName, goName)
	}
	if len(out.methods) == 0 {
		return nil, fmt.Errorf("rpcsvc: endpoint %T serves no method: none has the form func(ctx context.Context[, args A]) ([R, ]error)", ep.Impl)
	}
	return out, nil
}

func servable(mt reflect.Type) bool {
	if mt.NumIn() < 2 || mt.NumIn() > 3 || mt.In(1) != ctxType {
		return false
	}
	if mt.NumIn() == 3 {
		a := mt.In(2)
		if a.Kind() == reflect.Pointer {
			a = a.Elem()
		}
		if a.Kind() != reflect.Struct && a.Kind() != reflect.Map {
			return false
		}
	}
	switch mt.NumOut() {
	case 1:
		return mt.Out(0) == errType
	case 2:
		return mt.Out(1) == errType
	}
	return false
}

// snakeCase converts a Go method name to oslo's method naming:
// GetBackdoorPort -> get_backdoor_port, GetInstanceID -> get_instance_id.
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) ||
				(unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}
