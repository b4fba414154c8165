#!/usr/bin/python3
"""A Python nova sending service.update as nova-compute does: a
ServiceStatusPayload built by nova's own classes (Debian's python3-nova
26.2.2) from a Service object, published by oslo.messaging's Notifier
(messagingv2, topic versioned_notifications) as nova's versioned notifier.

  novanotify.py --url U --exchange E < service.json

service.json holds the Service's fields. Prints SENT once the broker took it.
"""
import argparse
import datetime
import importlib
import json
import pkgutil
import sys

import oslo_messaging as messaging


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--url', required=True)
    p.add_argument('--exchange', required=True)
    args = p.parse_args()
    import nova.notifications.objects as no
    import nova.objects
    from nova.objects import base
    nova.objects.register_all()
    for m in pkgutil.iter_modules(no.__path__):
        importlib.import_module('nova.notifications.objects.' + m.name)
    base.NovaObjectRegistry.register_notification_objects()
    from nova import objects
    from nova.notifications.objects import base as nbase
    from nova.notifications.objects import service as sno
    from nova.objects import fields

    import nova.conf
    from nova import rpc
    conf = nova.conf.CONF
    conf([], project='nova')
    conf.set_override('notification_format', 'versioned', group='notifications')
    messaging.set_transport_defaults(control_exchange=args.exchange)
    transport = messaging.get_notification_transport(conf, url=args.url)
    notifier = messaging.Notifier(transport, driver='messagingv2', topics=['versioned_notifications'])
    rpc.NOTIFIER = notifier  # nova's payloads build only when notifications are enabled

    s = json.load(sys.stdin)
    seen = datetime.datetime.strptime(s['last_seen_up'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    svc = objects.Service(id=s['id'], uuid=s['uuid'], host=s['host'], binary=s['binary'], topic=s['topic'],
                          report_count=s['report_count'], disabled=s['disabled'],
                          disabled_reason=s['disabled_reason'], last_seen_up=seen,
                          forced_down=s['forced_down'])
    svc.obj_set_defaults()
    svc.version = s['version']
    payload = sno.ServiceStatusPayload(svc)
    # What nova's NotificationBase.emit hands the versioned notifier.
    event = nbase.EventType(object='service', action=fields.NotificationAction.UPDATE)
    publisher = nbase.NotificationPublisher(host=s['host'], source=fields.NotificationSource.COMPUTE)

    notifier.prepare(publisher_id='%s:%s' % (fields.NotificationSource.COMPUTE, s['host'])).info(
        {}, event.to_notification_event_type_field(), payload.obj_to_primitive())
    transport.cleanup()
    print('SENT')


if __name__ == '__main__':
    main()
