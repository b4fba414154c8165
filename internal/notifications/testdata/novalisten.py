#!/usr/bin/python3
"""A Python oslo.messaging NotificationListener that judges gonova's
notifications with nova's own classes (Debian's python3-nova 26.2.2 and
python3-oslo.messaging).

  novalisten.py --url U --exchange E --topic T [--topic T2 ...]

Prints READY once its queues are declared, then one JSON line per
notification:
  {"priority", "publisher_id", "event_type", "payload", "metadata",
   "decoded": {"ok", "class", "version", "unset", "same", "error"}}
where "decoded" (for payloads that are nova objects) is what nova's
NovaObject.obj_from_primitive made of the payload: the class, the fields
nova left unset, and whether obj_to_primitive gives the payload back. It
stops when its stdin closes. Logs go to stderr.
"""

import argparse
import copy
import importlib
import json
import logging
import pkgutil
import sys
import threading
import warnings

from oslo_config import cfg
import oslo_messaging as messaging

warnings.simplefilter('error', FutureWarning)  # an invalid UUID must fail
_lock = threading.Lock()


def load_nova():
    import nova.notifications.objects as no
    import nova.objects
    from nova.objects import base
    nova.objects.register_all()
    for m in pkgutil.iter_modules(no.__path__):
        importlib.import_module('nova.notifications.objects.' + m.name)
    base.NovaObjectRegistry.register_notification_objects()
    # nova's payload constructors take the source objects (an Instance, a
    # Service); oslo's _obj_from_primitive is kept, without calling them.
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
    return base


def decode(base, payload):
    if not isinstance(payload, dict) or 'nova_object.name' not in payload:
        return None
    try:
        obj = base.NovaObject.obj_from_primitive(copy.deepcopy(payload))
        unset = [f for f in obj.fields if not obj.obj_attr_is_set(f)]
        again = obj.obj_to_primitive()
        # nova's DiskConfig.coerce turns any truthy value into AUTO on
        # rehydration (it expects a boolean): its own MANUAL comes back AUTO.
        data = again.get('nova_object.data', {})
        sent = payload.get('nova_object.data', {})
        if sent.get('auto_disk_config') == 'MANUAL' and data.get('auto_disk_config') == 'AUTO':
            data['auto_disk_config'] = 'MANUAL'
        return {'ok': True, 'class': type(obj).__name__, 'version': obj.VERSION,
                'unset': unset, 'same': again == payload, 'again': again}
    except Exception as e:
        return {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}


class Endpoint(object):
    def __init__(self, base):
        self.base = base
        for p in ('audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'):
            setattr(self, p, self._make(p))

    def _make(self, priority):
        def handler(ctxt, publisher_id, event_type, payload, metadata):
            line = json.dumps({'priority': priority, 'publisher_id': publisher_id,
                               'event_type': event_type, 'payload': payload,
                               'metadata': metadata, 'decoded': decode(self.base, payload)},
                              sort_keys=True, default=str)
            with _lock:
                sys.stdout.write(line + '\n')
                sys.stdout.flush()
            return messaging.NotificationResult.HANDLED
        return handler


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--url', required=True)
    p.add_argument('--exchange', required=True)
    p.add_argument('--topic', action='append', required=True)
    args = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    base = load_nova()
    conf = cfg.ConfigOpts()
    conf([], project='gonova-novalisten')
    messaging.set_transport_defaults(control_exchange=args.exchange)
    transport = messaging.get_notification_transport(conf, url=args.url)
    targets = [messaging.Target(topic=t) for t in args.topic]
    listener = messaging.get_notification_listener(
        transport, targets, [Endpoint(base)], executor='threading')
    listener.start()
    with _lock:
        sys.stdout.write('READY\n')
        sys.stdout.flush()
    try:
        sys.stdin.read()
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()


if __name__ == '__main__':
    main()
