#!/usr/bin/python3
"""A real oslo.messaging RPC client, the Python peer of gonova's interop tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging). It prints exactly
one JSON object on stdout and exits 0 whenever it could talk to the broker,
even when the remote method raised (that outcome is part of the JSON):

  call   {"ok": true, "result": ...}
         {"ok": false, "error_class": "RemoteError", "error_module": ...,
          "exc_type": ..., "value": ..., "traceback": ..., "str": ...}
  cast   {"ok": true, "sent": N}      (--count N casts; with --count-arg K
                                       each cast's args[K] = 0..N-1)
  fanout {"ok": true, "sent": N}      (cast to every server of the topic)
  bench  {"calls": N, "call_p50_ms": ..., "call_p99_ms": ..., "calls_per_s": ...,
          "casts": M, "casts_per_s": ..., "casts_handled": M, ...}

bench makes N sequential calls of `add`, then `bench_reset`, M casts of
`bench_cast` and one `bench_wait` call that returns when the server has handled
all M casts; casts/s is M over the time from the first cast sent to that reply.
"""

import argparse
import json
import logging
import statistics
import sys
import time

from oslo_config import cfg
import oslo_messaging as messaging


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1,
                   int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def describe_error(exc):
    out = {
        "ok": False,
        "error_class": type(exc).__name__,
        "error_module": type(exc).__module__,
        "str": str(exc),
    }
    if isinstance(exc, messaging.RemoteError):
        out["exc_type"] = exc.exc_type
        out["value"] = exc.value
        out["traceback"] = exc.traceback
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=["call", "cast", "fanout", "bench"])
    p.add_argument("--url", required=True, help="transport URL, rabbit://...")
    p.add_argument("--exchange", required=True, help="control exchange")
    p.add_argument("--topic", required=True)
    p.add_argument("--server", default=None, help="server (host); none: any")
    p.add_argument("--method", default="echo")
    p.add_argument("--args", default="{}", help="JSON object of kwargs")
    p.add_argument("--context", default="{}", help="JSON object: request ctx")
    p.add_argument("--namespace", default=None)
    p.add_argument("--version", default=None)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--count", type=int, default=1, help="casts to send")
    p.add_argument("--count-arg", default=None,
                   help="kwarg set to the cast's index 0..count-1")
    p.add_argument("--calls", type=int, default=1000, help="bench: calls")
    p.add_argument("--casts", type=int, default=5000, help="bench: casts")
    p.add_argument("--warmup", type=int, default=50, help="bench: warm-up")
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
    target = messaging.Target(topic=args.topic, server=args.server,
                              namespace=args.namespace, version=args.version)
    client = messaging.get_rpc_client(transport, target, timeout=args.timeout)
    # oslo.messaging 14 starts a non-daemon metrics thread on the first call
    # that idles for metrics_thread_stop_timeout (10 s) before it ends, which
    # would hold the interpreter's exit for that long.
    conf.set_override("metrics_thread_stop_timeout", 0.1,
                      group="oslo_messaging_metrics")
    ctxt = json.loads(args.context)
    kwargs = json.loads(args.args)

    try:
        if args.mode == "call":
            try:
                result = client.call(ctxt, args.method, **kwargs)
                out = {"ok": True, "result": result}
            except Exception as exc:  # the remote error is the result
                out = describe_error(exc)
        elif args.mode in ("cast", "fanout"):
            cctx = client.prepare(fanout=(args.mode == "fanout"))
            for i in range(args.count):
                kw = dict(kwargs)
                if args.count_arg:
                    kw[args.count_arg] = i
                cctx.cast(ctxt, args.method, **kw)
            out = {"ok": True, "sent": args.count}
        else:
            out = bench(client, ctxt, args)
    finally:
        transport.cleanup()
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
    sys.stdout.flush()


def bench(client, ctxt, args):
    for i in range(args.warmup):
        client.call(ctxt, "add", a=i, b=1)
    lat = []
    t0 = time.perf_counter()
    for i in range(args.calls):
        s = time.perf_counter()
        got = client.call(ctxt, "add", a=i, b=1)
        lat.append(time.perf_counter() - s)
        if got != i + 1:
            raise SystemExit("add(%d, 1) returned %r" % (i, got))
    calls_span = time.perf_counter() - t0
    lat.sort()

    client.call(ctxt, "bench_reset")
    t0 = time.perf_counter()
    for i in range(args.casts):
        client.cast(ctxt, "bench_cast", i=i)
    sent = time.perf_counter() - t0
    waited = client.call(ctxt, "bench_wait", n=args.casts,
                         timeout=max(args.timeout - 1, 1))
    casts_span = time.perf_counter() - t0
    return {
        "calls": args.calls,
        "call_p50_ms": percentile(lat, 50) * 1e3,
        "call_p99_ms": percentile(lat, 99) * 1e3,
        "call_mean_ms": statistics.fmean(lat) * 1e3 if lat else 0.0,
        "calls_per_s": args.calls / calls_span if calls_span else 0.0,
        "casts": args.casts,
        "casts_handled": waited["count"],
        "cast_publish_seconds": sent,
        "casts_seconds": casts_span,
        "casts_per_s": waited["count"] / casts_span if casts_span else 0.0,
    }


if __name__ == "__main__":
    main()
