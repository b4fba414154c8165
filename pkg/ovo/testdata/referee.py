#!/usr/bin/python3
"""Referee for pkg/ovo: Debian's python3-oslo.versionedobjects and python3-nova
judge what the Go codec produces. Reads JSON on stdin, writes JSON on stdout.

  referee.py time     list of strings -> what oslo's DateTime.from_primitive
                      makes of each, in UTC ("...T..:..:..ffffffZ"), or null
  referee.py accept   list of nova primitives -> for each, whether nova's
                      obj_from_primitive takes it (every field coerced by its
                      type) and whether obj_to_primitive gives it back unchanged
  referee.py build    (no input) payloads built in Python field by field
  referee.py schema   list of class names -> nova's fields of each
  referee.py oslo     list of {primitive, target, manifest} of pkg/ovo's test
                      classes Parent 1.3 / Child 1.2 (namespace "test") ->
                      oslo's obj_from_primitive of each, then its
                      obj_to_primitive(target_version, version_manifest)
  referee.py emit     (no input) the messages nova's NotificationBase.emit
                      hands to oslo.messaging's notifier for build's
                      ServiceStatusPayload (service.update) and
                      InstanceActionPayload (instance.reboot.end)
"""
import datetime
import importlib
import json
import pkgutil
import sys
import warnings

warnings.simplefilter('error', FutureWarning)  # an invalid UUID must fail


def time_cmd(strings):
    from oslo_versionedobjects import fields
    out = []
    for s in strings:
        try:
            v = fields.DateTime().from_primitive(None, 't', s)
            u = v.astimezone(datetime.timezone.utc)
            out.append('%04d-%s' % (u.year, u.strftime('%m-%dT%H:%M:%S.%fZ')))
        except Exception:
            out.append(None)
    return out


def load_nova():
    import nova.notifications.objects as no
    import nova.objects
    from nova.objects import base
    nova.objects.register_all()
    for m in pkgutil.iter_modules(no.__path__):
        importlib.import_module('nova.notifications.objects.' + m.name)
    base.NovaObjectRegistry.register_notification_objects()
    return base


def construct_without_init():
    """nova's payload constructors take source objects (an Instance, a
    Service) that a referee does not have, so oslo's cls() in
    _obj_from_primitive is replaced by a bare instance; the rest is oslo
    3.0.1's _obj_from_primitive unchanged."""
    from oslo_versionedobjects import base as ovb

    def _obj_from_primitive(cls, context, objver, primitive):
        self = cls.__new__(cls)
        ovb.VersionedObject.__init__(self)
        self._context = context
        self.VERSION = objver
        objdata = cls._obj_primitive_field(primitive, 'data')
        changes = cls._obj_primitive_field(primitive, 'changes', [])
        for name, field in self.fields.items():
            if name in objdata:
                setattr(self, name, field.from_primitive(self, name, objdata[name]))
        self._changed_fields = set([x for x in changes if x in self.fields])
        return self
    ovb.VersionedObject._obj_from_primitive = classmethod(_obj_from_primitive)


def accept_cmd(prims):
    base = load_nova()
    construct_without_init()
    out = []
    for p in prims:
        try:
            obj = base.NovaObject.obj_from_primitive(p)
            unset = [f for f in obj.fields if not obj.obj_attr_is_set(f)]
            again = obj.obj_to_primitive()
            out.append({'ok': True, 'class': type(obj).__name__, 'version': obj.VERSION,
                        'unset': unset, 'same': again == p, 'again': again})
        except Exception as e:
            out.append({'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})
    return out


def build_cmd(_):
    base = load_nova()
    from nova.notifications.objects import exception, flavor, instance, service
    from nova.notifications.objects import base as nbase

    def new(cls, **kw):
        o = cls.__new__(cls)
        base.NovaObject.__init__(o)
        for k, v in kw.items():
            setattr(o, k, v)
        o.obj_reset_changes(recursive=True)
        return o

    ts = datetime.datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=datetime.timezone.utc)
    svc = new(service.ServiceStatusPayload, host='compute-1', binary='nova-compute', topic='compute',
              report_count=42, disabled=False, disabled_reason=None, availability_zone='nova',
              last_seen_up=ts, forced_down=False, version=64,
              uuid='6bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b11')
    fl = new(flavor.FlavorPayload, flavorid='42', memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0,
             name='m1.tiny', swap=0, rxtx_factor=1.0, vcpu_weight=0, disabled=False, is_public=True,
             extra_specs={'hw:cpu_policy': 'shared'}, projects=None, description=None)
    fault = new(exception.ExceptionPayload, module_name='nova.compute.manager', function_name='_build',
                exception='BuildAbortException', exception_message='boom', traceback='Traceback...')
    ip = new(instance.IpPayload, label='private', mac='FA:16:3E:00:00:01', meta={}, port_uuid=None,
             version=6, address='2001:DB8:0:0::1', device_name='tap0')
    common = dict(uuid='7bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b12', user_id='u', tenant_id='p',
                  reservation_id='r-1', display_name='vm', display_description=None,
                  host_name='vm', host='compute-1', node='fake-node', os_type=None, architecture=None,
                  availability_zone='nova', flavor=fl, image_uuid='8bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b13',
                  key_name=None, kernel_id='', ramdisk_id='', created_at=ts, launched_at=None,
                  terminated_at=None, deleted_at=None, updated_at=ts, state='active',
                  power_state='running', task_state=None, progress=0, ip_addresses=[ip],
                  block_devices=[], metadata={'a': 'b'}, locked=False, auto_disk_config='MANUAL',
                  request_id='req-1', action_initiator_user='u', action_initiator_project='p',
                  locked_reason=None)
    act = new(instance.InstanceActionPayload, fault=fault, **common)
    create = new(instance.InstanceCreatePayload, fault=None, keypairs=[], tags=['t'],
                 trusted_image_certificates=None, instance_name='instance-00000001', **common)
    et = new(nbase.EventType, object='instance', action='create', phase='end')
    pub = new(nbase.NotificationPublisher, host='compute-1', source='nova-compute')
    return [o.obj_to_primitive() for o in (svc, fl, fault, act, create, et, pub)]


def emit_cmd(_):
    load_nova()
    import oslo_messaging as messaging
    from oslo_messaging.notify import _impl_test
    import nova.conf
    from nova import context, rpc
    from nova.notifications.objects import base as nbase
    from nova.notifications.objects import instance, service

    conf = nova.conf.CONF
    conf([], project='nova')
    conf.set_override('notification_format', 'versioned', group='notifications')
    transport = messaging.get_notification_transport(conf, url='fake:/')
    rpc.NOTIFIER = messaging.Notifier(
        transport, serializer=rpc.RequestContextSerializer(rpc.JsonPayloadSerializer()),
        driver='test', topics=['versioned_notifications'])
    prims = build_cmd(None)
    base = load_nova()
    construct_without_init()
    svc = base.NovaObject.obj_from_primitive(prims[0])
    act = base.NovaObject.obj_from_primitive(prims[3])
    ctx = context.RequestContext(user_id='u', project_id='p')
    pub = nbase.NotificationPublisher(host='compute-1', source='nova-compute')
    for payload, cls, et in (
            (svc, service.ServiceStatusNotification, nbase.EventType(object='service', action='update')),
            (act, instance.InstanceActionNotification,
             nbase.EventType(object='instance', action='reboot', phase='end'))):
        payload.populated = True
        cls(priority='info', event_type=et, publisher=pub, payload=payload).emit(ctx)
    out = []
    for ctxt, message, priority, retry in _impl_test.NOTIFICATIONS:
        out.append({'message': message, 'priority': priority})
    return out


def oslo_cmd(items):
    """pkg/ovo's codec_test.go classes, written as oslo classes are."""
    from oslo_utils import versionutils
    from oslo_versionedobjects import base as ovb
    from oslo_versionedobjects import fields as f

    class TestBase(ovb.VersionedObject):
        OBJ_SERIAL_NAMESPACE = 'test_object'
        OBJ_PROJECT_NAMESPACE = 'test'

    @ovb.VersionedObjectRegistry.register
    class Child(TestBase):
        VERSION = '1.2'
        fields = {'name': f.StringField(), 'extra': f.IntegerField(nullable=True),
                  'tag': f.StringField(default='none')}

        def obj_make_compatible(self, primitive, target_version):
            super().obj_make_compatible(primitive, target_version)
            t = versionutils.convert_version_to_tuple(target_version)
            if t < (1, 2):
                primitive.pop('tag', None)
            if t < (1, 1):
                primitive.pop('extra', None)

    @ovb.VersionedObjectRegistry.register
    class Parent(TestBase):
        VERSION = '1.3'
        fields = {'s': f.StringField(), 'n': f.IntegerField(), 'f': f.FloatField(),
                  'b': f.BooleanField(), 'u': f.UUIDField(), 't': f.DateTimeField(nullable=True),
                  'e': f.EnumField(['a', 'b']), 'mac': f.MACAddressField(),
                  'ip': f.IPV4AndV6AddressField(), 'l': f.ListOfStringsField(nullable=True),
                  'd': f.DictOfNullableStringsField(), 'kid': f.ObjectField('Child', nullable=True),
                  'kids': f.ListOfObjectsField('Child'), 'def': f.IntegerField(default=7),
                  'new_one': f.StringField(nullable=True)}
        obj_relationships = {'kid': [('1.0', '1.0'), ('1.2', '1.1'), ('1.3', '1.2')],
                             'kids': [('1.1', '1.0'), ('1.3', '1.2')]}

        def obj_make_compatible(self, primitive, target_version):
            super().obj_make_compatible(primitive, target_version)
            if versionutils.convert_version_to_tuple(target_version) < (1, 3):
                primitive.pop('new_one', None)

    out = []
    for it in items:
        try:
            obj = TestBase.obj_from_primitive(it['primitive'])
            again = obj.obj_to_primitive(target_version=it.get('target'),
                                         version_manifest=it.get('manifest'))
            out.append({'ok': True, 'again': again})
        except Exception as e:
            out.append({'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})
    return out


def schema_cmd(names):
    base = load_nova()
    from oslo_versionedobjects import fields as of

    def t(ft):
        d = {'type': type(ft).__name__}
        if isinstance(ft, of.Enum):
            d['valid'] = list(ft.valid_values)
        if isinstance(ft, of.Object):
            d['object'] = ft._obj_name
        if isinstance(ft, of.CompoundFieldType):
            d['elem'] = t(ft._element_type._type)
            d['elem_nullable'] = ft._element_type.nullable
        return d

    out = {}
    for n in names:
        c = base.NovaObjectRegistry.obj_classes()[n][0]
        fs = {}
        for fn, f in c.fields.items():
            d = t(f._type)
            d['nullable'] = f.nullable
            if f.default is not of.UnspecifiedDefault:
                d['default'] = f.default
            fs[fn] = d
        out[n] = {'version': c.VERSION, 'fields': fs}
    return out


if __name__ == '__main__':
    cmd = {'time': time_cmd, 'accept': accept_cmd, 'build': build_cmd, 'schema': schema_cmd,
           'emit': emit_cmd, 'oslo': oslo_cmd}[sys.argv[1]]
    arg = None if sys.argv[1] in ('build', 'emit') else json.load(sys.stdin)
    json.dump(cmd(arg), sys.stdout, default=str)
