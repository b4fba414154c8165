// Package novaobj holds nova's versioned notification objects, as Go types
// with nova 26.2.2's names, versions and fields: NotificationPublisher,
// EventType, ServiceStatusPayload (service.create/update/delete) and the
// instance family (InstancePayload, InstanceActionPayload,
// InstanceCreatePayload, InstanceUpdatePayload with FlavorPayload,
// ExceptionPayload, IpPayload, BlockDevicePayload, KeypairPayload,
// InstanceStateUpdatePayload, AuditPeriodPayload), all in Registry.
//
// Why: gonova's services emit the notifications nova emits, and a Go
// consumer may read notifications Python nova sends; both need the exact
// classes, so they are generated from nova itself (testdata/gen_schema.py
// writes schema_gen.go from python3-nova) and the referee tests check them
// against nova again: its schema, its obj_from_primitive on every class
// gonova encodes, and payloads nova builds decoding into these types.
//
// The "added in" versions come from the version comments in nova's source
// (nova keeps no table of them); a backport to an older version drops those
// fields. FlavorPayload 1.1's additions are not recorded there, so they stay
// in a 1.0 backport. nova never backports notifications itself.
//
// Fields gonova has no data for carry what nova sends for them: null for the
// nullable ones; the rest are the caller's to fill, as nova's defaults
// (auto_disk_config "MANUAL" for false, locked false, empty lists and
// dicts). NewMessage assembles what nova's NotificationBase.emit hands to
// oslo's notifier: priority, event_type ("instance.create.end"),
// publisher_id ("nova-compute:host") and the payload primitive.
package novaobj
