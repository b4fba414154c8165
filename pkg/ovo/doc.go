// Package ovo encodes and decodes oslo.versionedobjects primitives: the
// {"nova_object.name", "nova_object.namespace", "nova_object.version",
// "nova_object.data", "nova_object.changes"} documents nova puts in RPC
// arguments and in versioned notification payloads.
//
// Why: a Go service that talks to (or stands in for) a Python OpenStack
// service must produce objects that Python's obj_from_primitive accepts field
// by field, and must read what Python sends, across versions. oslo's rules
// (what each field type emits and accepts, how a newer object is backported
// for an older receiver) are easy to get subtly wrong, so they live here
// once, checked against Debian's python3-oslo.versionedobjects and
// python3-nova by the referee tests (testdata/referee.py).
//
// # Shape
//
// A Class declares one object class at one version: its name, its fields
// (type, nullable, default, the version that added it), the relationships of
// its sub-objects (oslo's obj_relationships) and an optional Compat hook for
// hand-written conversions. A Registry, for one Namespace (NovaNamespace, or
// any project's), binds each Class to a Go struct whose fields carry
// `ovo:"name"` tags:
//
//	r := ovo.NewRegistry(ovo.NovaNamespace)
//	r.MustRegister(ovo.Class{Name: "ServiceStatusPayload", Version: "1.1", Fields: []ovo.Field{
//		ovo.F("host", ovo.String).OrNull(),
//		ovo.F("report_count", ovo.Integer),
//		ovo.F("uuid", ovo.UUID).AddedIn("1.1"),
//	}}, ServiceStatusPayload{})
//	b, err := r.Marshal(&p, ovo.Options{})                 // at 1.1
//	b, err = r.Marshal(&p, ovo.Options{Target: "1.0"})     // uuid dropped
//	v, hdr, err := r.Unmarshal(b)                          // v is a *ServiceStatusPayload
//
// Nullable scalars are pointers; lists, dicts and objects are slices, maps
// and struct pointers, nil meaning null where the field is nullable.
// Registry.Validate, once all classes are in, checks that every Object field
// names a registered class.
//
// # Wire rules (oslo.versionedobjects 3.0.1)
//
//   - DateTime emits "YYYY-MM-DDTHH:MM:SSZ" in UTC, dropping sub-seconds, as
//     _utils.isotime; it accepts what python3-iso8601 parses (zone or none,
//     which means UTC, ' ' or 'T', fractions, basic format) to the microsecond.
//   - Integer takes JSON integers (and integral numbers such as 1.0); a
//     fraction is an error, where Python's int() would truncate.
//   - String takes only strings (oslo's coerce would also stringify numbers).
//   - UUID must parse as a UUID both ways (oslo only warns); MACAddress is
//     lower-cased with '-' turned to ':'; IPAddress is canonicalised.
//   - A null for a non-nullable field takes the field's default, or fails; a
//     missing field takes its default, or the Go zero value.
//   - An empty UUID, Enum, MAC or IP string and a nil non-nullable object are
//     "not set" and left out of the primitive, as oslo leaves unset fields out
//     (Options.RequireAll makes them an error instead).
//
// # Versions
//
// Decoding an unknown class, another namespace, another major, or a newer
// minor that carries fields this side does not know is an *Error naming the
// object, its version and what is wrong (errors.Is: ErrUnknownObject,
// ErrIncompatibleVersion). An older minor decodes (Python picks the newest
// compatible class the same way); a newer minor whose fields are all known
// decodes too, which Python refuses. Encoding at an older Target drops the
// fields added since, backports sub-objects by Relationships (or by
// Options.Manifest, oslo's version_manifest), removes sub-objects that did
// not exist yet, and runs Compat. Unlike oslo, a sub-object is never
// relabelled to a version newer than its own.
//
// # Not covered
//
// Set, FlexibleBoolean, VersionPredicate, IP networks, Object fields
// accepting subclasses, and ObjectListBase's child_versions are not
// implemented; nova's notification payloads in novaobj do not need them.
package ovo
