"""Validate compute API responses with tempest's own response schemas.

Run with Debian's /usr/bin/python3 (python3-tempest 33). Reads one JSON
document on stdin and writes one on stdout.

    schemas.py plan
        stdin:  {"max": "2.53", "routes": [{"schema": "servers.get_server",
                 "client": "servers_client.ServersClient" | "",
                 "min": "2.1", "max": ""}, ...]}
        stdout: [[{"version": "2.1", "module": "v2_1.servers.get_server"},
                  ...], ...]   (one list per route)
        The microversions to check a route at: with a client, the first
        microversion of each entry of that client's schema_versions_info (the
        versions where tempest's schema for the route may change), within the
        route's range and the API's max; without one (tempest's client
        validates with its v2_1 module at every version), the route's min and
        the API's max. A schema "v2_11.services.update_forced_down" names
        its module: checked at the route's min and the API's max.

    schemas.py validate
        stdin:  [{"module": "v2_26.servers.get_server", "status": 200,
                  "headers": {"name": "value"}, "body": <JSON or null>}, ...]
        stdout: [{"ok": true} | {"ok": false, "error": "..."}, ...]
        Each response is checked by tempest.lib.common.rest_client.RestClient
        .validate_response, as tempest's clients check every answer: the
        status code, the body (jsonschema with tempest's validator and format
        checkers) and the headers where the schema has them; an error status
        (>= 400, which validate_response lets through because tempest's
        client raises on it first) fails.
"""

import importlib
import json
import sys

from tempest.lib.common import api_version_request
from tempest.lib.common import rest_client

BASE = "tempest.lib.api_schema.response.compute"


def version(s):
    return api_version_request.APIVersionRequest(s)


def schema_entries(client):
    """The client's schema_versions_info: [(min, max, module)]."""
    modname, clsname = client.rsplit(".", 1)
    mod = importlib.import_module("tempest.lib.services.compute." + modname)
    cls = getattr(mod, clsname)
    out = []
    for e in cls.schema_versions_info:
        out.append((e["min"] or "2.1", e["max"], e["schema"]))
    return out


def module_label(mod):
    return mod.__name__[len(BASE) + 1:]


def plan(doc):
    api_max = version(doc["max"])
    result = []
    for r in doc["routes"]:
        lo = version(r.get("min") or "2.1")
        hi = version(r["max"]) if r.get("max") else api_max
        if hi > api_max:
            hi = api_max
        parts = r["schema"].split(".")
        rows = []
        if len(parts) == 3:
            # The module is named: at the route's first and last version.
            lookup(r["schema"])
            for v in sorted({lo.get_string(), hi.get_string()}, key=version):
                rows.append({"version": v, "module": r["schema"]})
            result.append(rows)
            continue
        file_, attr = parts
        if r.get("client"):
            for emin, emax, mod in schema_entries(r["client"]):
                if not hasattr(mod, attr):
                    continue
                # The entry's range clipped to the route's: check its first
                # version in the route's range.
                start = version(emin)
                end = version(emax) if emax else None
                if end is not None and end < lo:
                    continue
                v = start if start > lo else lo
                if v > hi:
                    continue
                rows.append({"version": v.get_string(), "module": module_label(mod) + "." + attr})
        else:
            mod = importlib.import_module("%s.v2_1.%s" % (BASE, file_))
            getattr(mod, attr)  # the schema must exist
            for v in sorted({lo.get_string(), hi.get_string()}, key=version):
                rows.append({"version": v, "module": "v2_1.%s.%s" % (file_, attr)})
        result.append(rows)
    return result


class Resp(dict):
    """What tempest's validate_response reads of a response: the headers
    (a mapping, lower-case names as httplib2 gives them) and .status."""

    def __init__(self, status, headers):
        super().__init__({k.lower(): v for k, v in headers.items()})
        self.status = status


def lookup(label):
    parts = label.split(".")
    mod = importlib.import_module(BASE + "." + ".".join(parts[:-1]))
    return getattr(mod, parts[-1])


def validate(cases):
    out = []
    for c in cases:
        try:
            schema = lookup(c["module"])
            if c["status"] >= 400:
                # tempest's client raises on an error status before it
                # validates (validate_response checks only statuses < 400).
                raise ValueError("error status %d: %s" % (c["status"], json.dumps(c.get("body"))[:300]))
            rest_client.RestClient.validate_response(schema, Resp(c["status"], c.get("headers") or {}), c.get("body"))
            out.append({"ok": True})
        except Exception as e:  # the report names the failure
            # tempest's RestClientException keeps its detail in resp_body.
            detail = getattr(e, "resp_body", "") or ""
            out.append({"ok": False, "error": "%s: %s" % (type(e).__name__, detail or e)})
    return out


def main():
    doc = json.load(sys.stdin)
    if sys.argv[1] == "plan":
        json.dump(plan(doc), sys.stdout)
    elif sys.argv[1] == "validate":
        json.dump(validate(doc), sys.stdout)
    else:
        raise SystemExit("usage: schemas.py plan|validate < json")


if __name__ == "__main__":
    main()
