#!/usr/bin/python3
"""A Python oslo.messaging peer on quorum queues, for gonova's cluster tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3). With
[oslo_messaging_rabbit] rabbit_quorum_queue = true it serves
Target(topic, server) (so it declares the quorum queues `topic` and
`topic.server`, and the durable control exchange) and prints READY. Then,
for each line "call <server> <n>" read on stdin, it calls echo(n=i) for
i in 0..n-1 on that server (or on the shared topic queue with server "-")
and prints one JSON line {"event": "calls", "ok": k, "errors": [...]}.
Every echo() it serves prints {"event": "served", "n": n}. It stops when
stdin closes.
"""

import argparse
import json
import logging
import sys
import threading

from oslo_config import cfg
import oslo_messaging as messaging

_out = threading.Lock()


def emit(obj):
    with _out:
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()


class Endpoint(object):
    target = messaging.Target(version="1.0")

    def echo(self, ctxt, n):
        emit({"event": "served", "n": n})
        return n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--exchange", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--server", required=True)
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)

    conf = cfg.CONF  # oslo.messaging registers its metrics options there
    conf([], project="pyquorum")
    messaging.set_transport_defaults(a.exchange)
    transport = messaging.get_rpc_transport(conf, url=a.url)
    conf.set_override("rabbit_quorum_queue", True, group="oslo_messaging_rabbit")
    server = messaging.get_rpc_server(
        transport, messaging.Target(topic=a.topic, server=a.server),
        [Endpoint()], executor="threading")
    server.start()
    emit("READY")
    client = messaging.get_rpc_client(
        transport, messaging.Target(topic=a.topic, version="1.0"), timeout=30)
    # oslo.messaging 14's metrics thread would hold the exit for 10 s.
    conf.set_override("metrics_thread_stop_timeout", 0.1,
                      group="oslo_messaging_metrics")
    for line in sys.stdin:
        f = line.split()
        if len(f) != 3 or f[0] != "call":
            continue
        target = f[1]
        ok, errors = 0, []
        c = client if target == "-" else client.prepare(server=target)
        for i in range(int(f[2])):
            try:
                if c.call({}, "echo", n=i) == i:
                    ok += 1
                else:
                    errors.append("wrong result for %d" % i)
            except Exception as e:  # reported to the test
                errors.append("%s: %s" % (type(e).__name__, e))
        emit({"event": "calls", "ok": ok, "errors": errors})
    server.stop()
    server.wait()
    transport.cleanup()


if __name__ == "__main__":
    main()
