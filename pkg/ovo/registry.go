package ovo

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"
)

// Namespace is the pair of names oslo puts on the wire: Serial prefixes the
// primitive's keys (OBJ_SERIAL_NAMESPACE) and Project is the value of its
// ".namespace" key (OBJ_PROJECT_NAMESPACE).
type Namespace struct {
	Serial  string
	Project string
}

// NovaNamespace is nova's: {"nova_object.name": ..., "nova_object.namespace": "nova", ...}.
var NovaNamespace = Namespace{Serial: "nova_object", Project: "nova"}

// OsloNamespace is oslo.versionedobjects' default for a VersionedObject.
var OsloNamespace = Namespace{Serial: "versioned_object", Project: "versionedobjects"}

// Registry holds the classes of one namespace, each bound to a Go struct
// type, and encodes and decodes their primitives. Register every class first;
// a registry is then safe for concurrent use.
type Registry struct {
	ns                                                 Namespace
	keyName, keyNamespace, keyVersion, keyData, keyChg string

	mu     sync.RWMutex
	byName map[string]*entry
	byType map[reflect.Type]*entry
}

// NewRegistry returns an empty registry for namespace ns.
func NewRegistry(ns Namespace) *Registry {
	return &Registry{
		ns:           ns,
		keyName:      ns.Serial + ".name",
		keyNamespace: ns.Serial + ".namespace",
		keyVersion:   ns.Serial + ".version",
		keyData:      ns.Serial + ".data",
		keyChg:       ns.Serial + ".changes",
		byName:       map[string]*entry{},
		byType:       map[reflect.Type]*entry{},
	}
}

// Namespace returns the registry's namespace.
func (r *Registry) Namespace() Namespace { return r.ns }

type entry struct {
	class   Class
	version Version
	typ     reflect.Type // the struct type
	fields  []fieldPlan
	byName  map[string]int
}

type fieldPlan struct {
	Field
	index    []int
	goType   reflect.Type
	added    Version
	hasAdded bool
}

var timeType = reflect.TypeFor[time.Time]()

// Register binds class c to the struct type of sample (a struct or a pointer
// to one). Each field of c maps to the exported struct field tagged
// `ovo:"<name>"` (fields of embedded structs count); the Go type must fit:
//
//	String, UUID, Enum, MACAddress, IPAddress  string
//	Integer                                    any integer type
//	Float                                      float64 (or float32)
//	Boolean                                    bool
//	DateTime                                   time.Time
//	List / Dict                                []E / map[string]E
//	Object                                     *S (or S) for a registered struct S
//
// A nullable scalar (or nullable element) is a pointer to one of these; a nil
// slice, map or object pointer is null when the field is nullable.
func (r *Registry) Register(c Class, sample any) error {
	t := reflect.TypeOf(sample)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return fmt.Errorf("ovo: register %s: sample %T is not a struct", c.Name, sample)
	}
	e, err := newEntry(c, t)
	if err != nil {
		return fmt.Errorf("ovo: register %s %s: %w", c.Name, c.Version, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[c.Name]; dup {
		return fmt.Errorf("ovo: register %s: already registered", c.Name)
	}
	if old, dup := r.byType[t]; dup {
		return fmt.Errorf("ovo: register %s: Go type %s already holds %s", c.Name, t, old.class.Name)
	}
	r.byName[c.Name] = e
	r.byType[t] = e
	return nil
}

// MustRegister is Register for package initialisation: it panics on error.
func (r *Registry) MustRegister(c Class, sample any) {
	if err := r.Register(c, sample); err != nil {
		panic(err)
	}
}

// Class returns the registered class called name.
func (r *Registry) Class(name string) (Class, bool) {
	e := r.entryByName(name)
	if e == nil {
		return Class{}, false
	}
	return e.class, true
}

// Classes returns the names of the registered classes.
func (r *Registry) Classes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	return out
}

func (r *Registry) entryByName(name string) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byName[name]
}

func (r *Registry) entryByType(t reflect.Type) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byType[t]
}

func newEntry(c Class, t reflect.Type) (*entry, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("a class needs a name")
	}
	v, err := ParseVersion(c.Version)
	if err != nil {
		return nil, err
	}
	tagged := map[string]reflect.StructField{}
	for _, sf := range reflect.VisibleFields(t) {
		tag, ok := sf.Tag.Lookup("ovo")
		if !ok || tag == "-" {
			continue
		}
		if !sf.IsExported() {
			return nil, fmt.Errorf("struct field %s is not exported", sf.Name)
		}
		if viaPointer(t, sf.Index) {
			return nil, fmt.Errorf("struct field %s is promoted through an embedded pointer", sf.Name)
		}
		if _, dup := tagged[tag]; dup {
			return nil, fmt.Errorf("two struct fields are tagged %q", tag)
		}
		tagged[tag] = sf
	}
	e := &entry{class: c, version: v, typ: t, byName: map[string]int{}}
	for _, f := range c.Fields {
		if _, dup := e.byName[f.Name]; dup {
			return nil, fmt.Errorf("field %s declared twice", f.Name)
		}
		if err := f.Type.validate(); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		sf, ok := tagged[f.Name]
		if !ok {
			return nil, fmt.Errorf("field %s has no struct field tagged `ovo:%q` in %s", f.Name, f.Name, t)
		}
		delete(tagged, f.Name)
		if err := checkGoType(f.Type, f.Nullable, sf.Type); err != nil {
			return nil, fmt.Errorf("field %s (struct field %s %s): %w", f.Name, sf.Name, sf.Type, err)
		}
		p := fieldPlan{Field: f, index: sf.Index, goType: sf.Type}
		if f.Added != "" {
			if p.added, err = ParseVersion(f.Added); err != nil {
				return nil, fmt.Errorf("field %s: added in: %w", f.Name, err)
			}
			if p.added.Compare(v) > 0 || p.added.Major != v.Major {
				return nil, fmt.Errorf("field %s: added in %s, not in major %d up to %s", f.Name, f.Added, v.Major, v)
			}
			p.hasAdded = true
		}
		if f.HasDefault && f.Default != nil && f.Type.Kind != KindObject {
			scratch := reflect.New(sf.Type).Elem()
			if err := (*Registry)(nil).decodeValue(f.Type, f.Nullable, f.Default, scratch); err != nil {
				return nil, fmt.Errorf("field %s: default %#v: %w", f.Name, f.Default, err)
			}
		}
		e.byName[f.Name] = len(e.fields)
		e.fields = append(e.fields, p)
	}
	if len(tagged) > 0 {
		names := slices.Sorted(maps.Keys(tagged))
		return nil, fmt.Errorf("struct fields tagged %q are not fields of the class", names)
	}
	for name, rels := range c.Relationships {
		i, ok := e.byName[name]
		if !ok || e.fields[i].Type.objectName() == "" {
			return nil, fmt.Errorf("relationships for %s, which is not an object field", name)
		}
		for _, rel := range rels {
			if _, err := ParseVersion(rel.Parent); err != nil {
				return nil, fmt.Errorf("relationships for %s: %w", name, err)
			}
			if _, err := ParseVersion(rel.Child); err != nil {
				return nil, fmt.Errorf("relationships for %s: %w", name, err)
			}
		}
	}
	return e, nil
}

func viaPointer(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			return true
		}
		t = f.Type
	}
	return false
}

func checkGoType(ft Type, nullable bool, gt reflect.Type) error {
	switch ft.Kind {
	case KindList, KindDict:
		if ft.Kind == KindList && gt.Kind() != reflect.Slice {
			return fmt.Errorf("a List needs a slice")
		}
		if ft.Kind == KindDict && (gt.Kind() != reflect.Map || gt.Key().Kind() != reflect.String) {
			return fmt.Errorf("a Dict needs a map with string keys")
		}
		return checkGoType(*ft.Elem, ft.ElemNullable, gt.Elem())
	case KindObject:
		if gt.Kind() == reflect.Pointer && gt.Elem().Kind() == reflect.Struct {
			return nil
		}
		if gt.Kind() == reflect.Struct && !nullable && gt != timeType {
			return nil
		}
		return fmt.Errorf("an Object needs a pointer to a registered struct")
	}
	if nullable {
		if gt.Kind() != reflect.Pointer {
			return fmt.Errorf("a nullable %s needs a pointer", ft.Kind)
		}
		gt = gt.Elem()
	}
	ok := false
	switch ft.Kind {
	case KindString, KindUUID, KindEnum, KindMACAddress, KindIPAddress:
		ok = gt.Kind() == reflect.String
	case KindInteger:
		switch gt.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			ok = true
		}
	case KindFloat:
		ok = gt.Kind() == reflect.Float64 || gt.Kind() == reflect.Float32
	case KindBoolean:
		ok = gt.Kind() == reflect.Bool
	case KindDateTime:
		ok = gt == timeType
	}
	if !ok {
		return fmt.Errorf("type %s does not hold a %s", gt, ft.Kind)
	}
	return nil
}

// Validate checks what Register cannot see one class at a time: every Object
// field names a registered class, and its Go field holds that class's struct.
// Call it once every class is registered (a test is a good place).
func (r *Registry) Validate() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(r.byName)) {
		e := r.byName[name]
		for _, f := range e.fields {
			obj := f.Type.objectName()
			if obj == "" {
				continue
			}
			target, ok := r.byName[obj]
			if !ok {
				errs = append(errs, fmt.Errorf("ovo: %s.%s holds %s, which is not registered", name, f.Name, obj))
				continue
			}
			gt := f.goType
			for gt.Kind() == reflect.Slice || gt.Kind() == reflect.Map {
				gt = gt.Elem()
			}
			if gt.Kind() == reflect.Pointer {
				gt = gt.Elem()
			}
			if gt != target.typ {
				errs = append(errs, fmt.Errorf("ovo: %s.%s holds %s, whose Go type is %s, not %s", name, f.Name, obj, target.typ, gt))
			}
		}
	}
	return errors.Join(errs...)
}
