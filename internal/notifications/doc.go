// Package notifications is nova's notifications of what gonova's services
// do: nova/notifications plus the notifiers of nova/rpc.py
// (get_versioned_notifier, get_notifier), on one pkg/notify Notifier per
// process.
//
// Why: consumers of nova's notifications (ceilometer, billing, audit) must
// see the same event types, publishers, payload classes and versions from
// gonova as from Python nova, so the payloads are nova's own objects
// (pkg/ovo/novaobj), filled as nova fills them, and only for what gonova
// does.
//
// # What is sent
//
// With notification_format versioned or both ([notifications]), on
// versioned_notifications_topics, publisher_id "<source>:<host>":
//
//   - service.create, service.update, service.delete (ServiceStatusPayload
//     1.1, publisher the service's own binary and host): ServiceStore wraps
//     the services store, so a row created, an update of disabled,
//     disabled_reason or forced_down (nova's Service.save rule: heartbeats
//     and version bumps send nothing) and a delete are announced, whoever
//     made them;
//   - instance.create.start/end/error (InstanceCreatePayload 1.12),
//     instance.delete.start/end and instance.reboot.start/end/error
//     (InstanceActionPayload 1.8), from the compute manager (nova-compute)
//     and the API's local delete (nova-api).
//
// With unversioned or both (nova's default is unversioned), on
// [oslo_messaging_notifications] topics, publisher_id "compute.<host>":
// compute.instance.create.start/end/error, compute.instance.delete.start/end
// and compute.instance.reboot.start/end/error with nova's legacy keys
// (info_from_instance).
//
// Nothing is sent, and nothing is built, without an
// [oslo_messaging_notifications] driver other than noop (nova's default
// has none): New returns a nil *Notifier, whose methods do nothing.
//
// # Values gonova has no data for
//
// They carry what nova sends when it has none, never an invented value:
// null host_name (and reservation_id for rows older than it), os_type, architecture, availability_zone,
// key_name, request_id and action initiators (the API sends no request
// context yet), locked_reason; "" kernel_id and ramdisk_id; progress 0;
// empty ip_addresses, block_devices (bdms_in_notifications or not: gonova
// has no block devices), keypairs and tags; auto_disk_config MANUAL, locked
// false. The flavor comes from the flavor catalog by the instance's flavor
// id (null projects, as nova's embedded flavor has). A fault's
// ExceptionPayload names nova's exception class when the error carries one
// (rpcsvc.Classifier), "Exception" otherwise, nova's module and function,
// and an empty traceback (Go errors have none). delete.end's deleted_at is
// its terminated_at (gonova's row keeps no deleted_at). The legacy
// image_ref_url is the image id: nova's own fallback without a Glance
// endpoint.
//
// # Delivery
//
// Each notification is sent synchronously, bounded by SendTimeout (the
// caller's cancellation does not stop it); a failure is logged and counted
// (gonova_notifications_sent_total{event_type,outcome}) and never fails the
// operation, as in nova.
package notifications
