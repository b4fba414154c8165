#!/usr/bin/python3
"""Referee: nova (Debian's python3-nova 26.2.2) builds its notification
payloads from nova objects holding what a gonova row holds.

Reads a JSON list of cases on stdin, writes a JSON list of results:
  {"kind": "create"|"action"|"legacy", "instance": {...}, "flavor": {...},
   "context": {"request_id", "user_id", "project_id"}}
      -> InstanceCreatePayload / InstanceActionPayload (fault None, no BDMs)
         primitive, or info_from_instance's dict (legacy)
  {"kind": "service", "service": {...}}
      -> ServiceStatusPayload(objects.Service) primitive
"""
import datetime
import importlib
import json
import pkgutil
import sys


def load():
    import nova.notifications.objects as no
    import nova.objects
    from nova.objects import base
    nova.objects.register_all()
    for m in pkgutil.iter_modules(no.__path__):
        importlib.import_module('nova.notifications.objects.' + m.name)
    base.NovaObjectRegistry.register_notification_objects()
    import nova.conf
    import oslo_messaging as messaging
    from nova import rpc
    conf = nova.conf.CONF
    conf([], project='nova')
    conf.set_override('notification_format', 'both', group='notifications')
    transport = messaging.get_notification_transport(conf, url='fake:/')
    rpc.NOTIFIER = messaging.Notifier(transport, driver='test', topics=['versioned_notifications'])


def ts(s):
    if s is None:
        return None
    return datetime.datetime.fromisoformat(s.replace('Z', '+00:00'))


def instance(ctx, c):
    from nova import objects
    from nova.network import model as network_model
    i, f = c['instance'], c['flavor']
    fl = objects.Flavor(id=1, flavorid=f['flavorid'], name=f['name'], memory_mb=f['memory_mb'], vcpus=f['vcpus'],
                        root_gb=f['root_gb'], ephemeral_gb=f['ephemeral_gb'], swap=f['swap'],
                        rxtx_factor=f['rxtx_factor'], vcpu_weight=None, disabled=f['disabled'],
                        is_public=f['is_public'], extra_specs={}, description=None)
    return objects.Instance(
        context=ctx, id=i['id'], uuid=i['uuid'], user_id=i['user_id'], project_id=i['project_id'],
        reservation_id=None, display_name=i['display_name'], display_description=None, hostname=None,
        host=i['host'], node=i['node'], os_type=None, architecture=None, availability_zone=None,
        flavor=fl, instance_type_id=None, image_ref=i['image_ref'], key_name=None, kernel_id='', ramdisk_id='',
        created_at=ts(i['created_at']), launched_at=ts(i['launched_at']), terminated_at=ts(i['terminated_at']),
        deleted_at=ts(i['deleted_at']), updated_at=ts(i['updated_at']), vm_state=i['vm_state'],
        power_state=i['power_state'], task_state=i['task_state'], progress=0, metadata=i['metadata'],
        system_metadata={}, locked=False, auto_disk_config=False, access_ip_v4=None, access_ip_v6=None, cell_name=None,
        info_cache=objects.InstanceInfoCache(network_info=network_model.NetworkInfo([])),
        keypairs=objects.KeyPairList(objects=[]), tags=objects.TagList(objects=[]), trusted_certs=None)


def main():
    load()
    from nova import context, notifications, objects
    from nova.notifications.objects import instance as ino
    from nova.notifications.objects import service as sno
    out = []
    for c in json.load(sys.stdin):
        if c['kind'] == 'service':
            s = c['service']
            svc = objects.Service(id=s['id'], uuid=s['uuid'], host=s['host'], binary=s['binary'], topic=s['topic'],
                                  report_count=s['report_count'], disabled=s['disabled'],
                                  disabled_reason=s['disabled_reason'], last_seen_up=ts(s['last_seen_up']),
                                  forced_down=s['forced_down'])
            svc.obj_set_defaults()  # nothing unset but what nova leaves unset
            svc.version = s['version']
            p = sno.ServiceStatusPayload(svc)
            out.append(p.obj_to_primitive())
            continue
        x = c['context']
        ctx = context.RequestContext(user_id=x['user_id'], project_id=x['project_id'], request_id=x['request_id'])
        inst = instance(ctx, c)
        if c['kind'] == 'legacy':
            out.append(notifications.info_from_instance(ctx, inst, None))
        elif c['kind'] == 'create':
            out.append(ino.InstanceCreatePayload(ctx, inst, None, objects.BlockDeviceMappingList(objects=[])).obj_to_primitive())
        else:
            out.append(ino.InstanceActionPayload(ctx, inst, None, objects.BlockDeviceMappingList(objects=[])).obj_to_primitive())
    json.dump(out, sys.stdout, default=str)


if __name__ == '__main__':
    main()
