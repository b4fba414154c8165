#!/usr/bin/python3
"""A real oslo.messaging RPC server, the Python peer of gonova's interop tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging). It listens on
Target(topic, server) in the given control exchange (so on the queues `topic`,
`topic.server` and the fanout exchange `topic_fanout`) and prints READY on
stdout once the consumers are declared.

Every line it prints on stdout is one JSON object or the word READY, so a Go
test can read them one by one:

  READY
  {"event": "record", "n": 3, "context": {...}}   one per record() cast
  {"event": "context", "context": {...}}          one per whoami() call

Logs go to stderr.
"""

import argparse
import json
import logging
import signal
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as messaging

_out_lock = threading.Lock()


def emit(obj):
    """Print one JSON line on stdout, whole, whatever thread calls it."""
    line = json.dumps(obj, sort_keys=True)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class PeerError(Exception):
    """An exception of a module that is not builtins, with kwargs."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.kwargs = {"code": code}


class TestEndpoint(object):
    """The default (no namespace, version 1.x) endpoint."""

    target = messaging.Target(version="1.3")

    def __init__(self):
        self._count = 0
        self._first = None
        self._last = None
        self._cond = threading.Condition()

    def echo(self, ctxt, **kwargs):
        return kwargs

    def add(self, ctxt, a, b):
        return a + b

    def fail(self, ctxt, message):
        raise ValueError(message)

    def fail_custom(self, ctxt, message, code=None):
        raise PeerError(message, code)

    def sleep(self, ctxt, seconds):
        time.sleep(float(seconds))
        return seconds

    def whoami(self, ctxt):
        """Return the request context as the server received it."""
        emit({"event": "context", "context": dict(ctxt)})
        return dict(ctxt)

    def record(self, ctxt, n):
        """A cast target: one stdout line per delivery, for exactly-once checks."""
        emit({"event": "record", "n": n, "context": dict(ctxt)})

    # Benchmark helpers: count casts, and let a call wait until all arrived.

    def bench_reset(self, ctxt):
        with self._cond:
            self._count = 0
            self._first = None
            self._last = None
        return True

    def bench_cast(self, ctxt, i):
        now = time.monotonic()
        with self._cond:
            if self._first is None:
                self._first = now
            self._count += 1
            self._last = now
            self._cond.notify_all()

    def bench_wait(self, ctxt, n, timeout):
        deadline = time.monotonic() + float(timeout)
        with self._cond:
            while self._count < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            first, last, count = self._first, self._last, self._count
        span = (last - first) if first is not None and last is not None else 0.0
        return {"count": count, "span_seconds": span}


class BaseAPI(object):
    """Like nova's baseapi: a namespaced endpoint every service answers."""

    target = messaging.Target(namespace="baseapi", version="1.1")

    def __init__(self, server):
        self._server = server

    def ping(self, ctxt, arg):
        return {"service": "pypeer", "arg": arg, "server": self._server}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True, help="transport URL, rabbit://...")
    p.add_argument("--exchange", required=True, help="control exchange")
    p.add_argument("--topic", required=True)
    p.add_argument("--server", required=True, help="server (host) name")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--config-file", default=None,
                   help="oslo.config file ([oslo_messaging_rabbit] options)")
    args = p.parse_args()

    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if args.debug else logging.WARNING)

    conf = cfg.CONF
    conf(["--config-file", args.config_file] if args.config_file else [],
         project="gonova-pypeer")
    messaging.set_transport_defaults(control_exchange=args.exchange)
    transport = messaging.get_rpc_transport(conf, url=args.url)
    target = messaging.Target(topic=args.topic, server=args.server)
    endpoints = [TestEndpoint(), BaseAPI(args.server)]
    server = messaging.get_rpc_server(
        transport, target, endpoints, executor="threading",
        access_policy=messaging.DefaultRPCAccessPolicy)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # start() declares the queues and consumers before it returns.
    server.start()
    with _out_lock:
        sys.stdout.write("READY\n")
        sys.stdout.flush()

    # Stop when told to, or when the parent closes our stdin (it died).
    def watch_stdin():
        try:
            sys.stdin.read()
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    server.stop()
    server.wait()
    transport.cleanup()


if __name__ == "__main__":
    main()
