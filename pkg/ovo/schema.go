package ovo

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is an oslo field type.
type Kind uint8

// The field types nova's objects use. Each one's wire form follows oslo's
// fields.py: see encodeScalar and decodeScalar.
const (
	KindString     Kind = iota + 1 // fields.String
	KindInteger                    // fields.Integer: a JSON integer
	KindFloat                      // fields.Float: a JSON number
	KindBoolean                    // fields.Boolean: a JSON boolean
	KindUUID                       // fields.UUID: a string uuid.UUID accepts
	KindDateTime                   // fields.DateTime: "YYYY-MM-DDTHH:MM:SSZ"
	KindEnum                       // fields.Enum: a string among Values
	KindMACAddress                 // fields.MACAddress: lower-case "aa:bb:cc:dd:ee:ff"
	KindIPAddress                  // fields.IPV4AndV6Address: an address in canonical text
	KindList                       // fields.List of Elem
	KindDict                       // fields.Dict of string to Elem
	KindObject                     // fields.Object: a nested object primitive of class Object
)

var kindNames = [...]string{
	KindString: "String", KindInteger: "Integer", KindFloat: "Float", KindBoolean: "Boolean",
	KindUUID: "UUID", KindDateTime: "DateTime", KindEnum: "Enum", KindMACAddress: "MACAddress",
	KindIPAddress: "IPV4AndV6Address", KindList: "List", KindDict: "Dict", KindObject: "Object",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Type is a field's type. Build one with the variables and functions below:
//
//	ovo.String, ovo.Enum("active", "deleted"), ovo.ListOf(ovo.String),
//	ovo.ObjectOf("FlavorPayload"), ovo.ListOfObjects("IpPayload")
type Type struct {
	Kind Kind
	// Values lists an Enum's valid values.
	Values []string
	// Elem is a List's or Dict's element type; ElemNullable lets an element be null.
	Elem         *Type
	ElemNullable bool
	// Object is the class name an Object field holds.
	Object string
}

// The scalar types.
var (
	String     = Type{Kind: KindString}
	Integer    = Type{Kind: KindInteger}
	Float      = Type{Kind: KindFloat}
	Boolean    = Type{Kind: KindBoolean}
	UUID       = Type{Kind: KindUUID}
	DateTime   = Type{Kind: KindDateTime}
	MACAddress = Type{Kind: KindMACAddress}
	IPAddress  = Type{Kind: KindIPAddress}
)

// Enum is a string field restricted to values.
func Enum(values ...string) Type { return Type{Kind: KindEnum, Values: values} }

// ListOf is a list of elem (oslo's List(elem)).
func ListOf(elem Type) Type { return Type{Kind: KindList, Elem: &elem} }

// DictOf is a dict from string to elem (oslo's Dict(elem)).
func DictOf(elem Type) Type { return Type{Kind: KindDict, Elem: &elem} }

// ObjectOf is a nested object of class name (oslo's ObjectField(name)).
func ObjectOf(name string) Type { return Type{Kind: KindObject, Object: name} }

// ListOfObjects is oslo's ListOfObjectsField(name).
func ListOfObjects(name string) Type { return ListOf(ObjectOf(name)) }

// NullableElems returns t (a List or Dict) with null elements allowed, as
// oslo's Dict(String(), nullable=True).
func (t Type) NullableElems() Type { t.ElemNullable = true; return t }

func (t Type) String() string {
	switch t.Kind {
	case KindEnum:
		return "Enum(" + strings.Join(t.Values, ",") + ")"
	case KindList, KindDict:
		e := "?"
		if t.Elem != nil {
			e = t.Elem.String()
		}
		if t.ElemNullable {
			e = "Nullable" + e
		}
		return t.Kind.String() + "<" + e + ">"
	case KindObject:
		return "Object<" + t.Object + ">"
	}
	return t.Kind.String()
}

// objectName is the class an Object or a List/Dict of Objects holds, or "".
func (t Type) objectName() string {
	switch {
	case t.Kind == KindObject:
		return t.Object
	case (t.Kind == KindList || t.Kind == KindDict) && t.Elem != nil:
		return t.Elem.objectName()
	}
	return ""
}

func (t Type) validate() error {
	switch t.Kind {
	case KindEnum:
		if len(t.Values) == 0 {
			return fmt.Errorf("an Enum needs valid values")
		}
	case KindList, KindDict:
		if t.Elem == nil {
			return fmt.Errorf("a %s needs an element type", t.Kind)
		}
		return t.Elem.validate()
	case KindObject:
		if t.Object == "" {
			return fmt.Errorf("an Object needs a class name")
		}
	case KindString, KindInteger, KindFloat, KindBoolean, KindUUID, KindDateTime, KindMACAddress, KindIPAddress:
	default:
		return fmt.Errorf("unknown field kind %d", t.Kind)
	}
	return nil
}

// Field is one field of a class: oslo's Field(type, nullable, default).
type Field struct {
	Name     string
	Type     Type
	Nullable bool
	// Default, if HasDefault, is the value a null or missing field decodes to,
	// in primitive form (string, bool, int, float64, []any, map[string]any).
	Default    any
	HasDefault bool
	// Added is the class version that added the field ("" means it was always
	// there). Backporting to an older version drops the field.
	Added string
}

// F declares a field; chain OrNull, WithDefault and AddedIn.
//
//	ovo.F("uuid", ovo.UUID).AddedIn("1.1")
func F(name string, t Type) Field { return Field{Name: name, Type: t} }

// OrNull makes the field nullable.
func (f Field) OrNull() Field { f.Nullable = true; return f }

// WithDefault gives the field a default (in primitive form).
func (f Field) WithDefault(v any) Field { f.Default, f.HasDefault = v, true; return f }

// AddedIn records the class version that added the field.
func (f Field) AddedIn(v string) Field { f.Added = v; return f }

// Rel is one row of oslo's obj_relationships: at parent version Parent, the
// sub-object is at version Child.
type Rel struct{ Parent, Child string }

// Class is the schema of one object class at one version: what the registry
// encodes and decodes a Go type with.
type Class struct {
	Name    string
	Version string
	Fields  []Field
	// Relationships maps an Object or ListOfObjects field to the sub-object
	// versions by parent version, ascending (oslo's obj_relationships). Needed
	// to backport a class with sub-objects without a manifest.
	Relationships map[string][]Rel
	// Compat, if set, converts a primitive's data for an older target after the
	// fields added since target were dropped (a hand-written part of oslo's
	// obj_make_compatible).
	Compat func(data map[string]any, target Version) error
}

// Field returns the named field.
func (c *Class) Field(name string) (Field, bool) {
	i := slices.IndexFunc(c.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return c.Fields[i], true
}
