#!/usr/bin/python3
"""Python oslo.messaging notification peers for pkg/notify's tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging).

  pynotify.py listen --url U --exchange E --topic T [--pool P] [--priorities info,error]
      A NotificationListener; prints READY once its queues are declared, then
      one JSON line per notification:
      {"priority": ..., "publisher_id": ..., "event_type": ..., "payload": ...,
       "metadata": {...}, "ctxt": {...}}
      It stops when its stdin closes.

  pynotify.py notify --url U --exchange E --topic T --driver messagingv2
                     --publisher-id P --event-type X --priority info --count N
                     [--payload JSON] [--request-id R]
      A Notifier; sends N notifications with payload {"i": k, ...} and prints
      {"sent": N}.

Logs go to stderr.
"""

import argparse
import json
import logging
import sys
import threading

from oslo_config import cfg
import oslo_messaging as messaging

_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, sort_keys=True)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Endpoint(object):
    def __init__(self, priorities):
        for p in priorities:
            setattr(self, p, self._make(p))

    def _make(self, priority):
        def handler(ctxt, publisher_id, event_type, payload, metadata):
            emit({"priority": priority, "publisher_id": publisher_id,
                  "event_type": event_type, "payload": payload,
                  "metadata": metadata, "ctxt": dict(ctxt or {})})
            return messaging.NotificationResult.HANDLED
        return handler


def listen(args, conf):
    transport = messaging.get_notification_transport(conf, url=args.url)
    targets = [messaging.Target(topic=args.topic)]
    endpoints = [Endpoint(args.priorities.split(","))]
    listener = messaging.get_notification_listener(
        transport, targets, endpoints, executor="threading",
        pool=args.pool or None)
    listener.start()
    with _out_lock:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
    try:
        sys.stdin.read()
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()


def notify(args, conf):
    transport = messaging.get_notification_transport(conf, url=args.url)
    notifier = messaging.Notifier(transport, publisher_id=args.publisher_id,
                                  driver=args.driver, topics=[args.topic])
    ctxt = {}
    if args.request_id:
        from oslo_context import context as oslo_context
        ctxt = oslo_context.RequestContext(request_id=args.request_id,
                                           user_id="u1", project_id="p1")
    extra = json.loads(args.payload) if args.payload else {}
    send = getattr(notifier, args.priority)
    for i in range(args.count):
        payload = dict(extra)
        payload["i"] = i
        send(ctxt, args.event_type, payload)
    transport.cleanup()
    emit({"sent": args.count})


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("mode", choices=["listen", "notify"])
    p.add_argument("--url", required=True)
    p.add_argument("--exchange", required=True)
    p.add_argument("--topic", default="notifications")
    p.add_argument("--pool", default="")
    p.add_argument("--priorities", default="info,warn,error")
    p.add_argument("--driver", default="messagingv2")
    p.add_argument("--publisher-id", default="pypeer.host")
    p.add_argument("--event-type", default="pypeer.test")
    p.add_argument("--priority", default="info")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--payload", default="")
    p.add_argument("--request-id", default="")
    p.add_argument("--durable", action="store_true",
                   help="[oslo_messaging_rabbit] amqp_durable_queues = True")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--config-file", default=None,
                   help="oslo.config file ([oslo_messaging_rabbit] options)")
    args = p.parse_args()
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if args.debug else logging.WARNING)
    conf = cfg.CONF
    conf(["--config-file", args.config_file] if args.config_file else [],
         project="gonova-pynotify")
    messaging.set_transport_defaults(control_exchange=args.exchange)
    if args.durable:
        from oslo_messaging._drivers import amqp as rpc_amqp
        conf.register_opts(rpc_amqp.amqp_opts, group="oslo_messaging_rabbit")
        conf.set_override("amqp_durable_queues", True,
                          group="oslo_messaging_rabbit")
    if args.mode == "listen":
        listen(args, conf)
    else:
        notify(args, conf)


if __name__ == "__main__":
    main()
