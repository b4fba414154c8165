"""Dump nova's registered policy defaults (nova.policies.list_rules()) as
JSON, for internal/policies' generator and referee test. Run with Debian's
python3 and python3-nova (26.x, Zed)."""
import json
import sys

from nova import policies
from nova import version

out = []
for r in policies.list_rules():
    d = {"name": r.name, "check_str": r.check_str, "description": r.description or ""}
    ops = getattr(r, "operations", None)
    if ops:
        d["operations"] = [{"method": o["method"], "path": o["path"]} for o in ops]
    if r.scope_types is not None:
        d["scope_types"] = list(r.scope_types)
    if r.deprecated_rule:
        dr = r.deprecated_rule
        d["deprecated_rule"] = {"name": dr.name, "check_str": dr.check_str,
                                "reason": dr.deprecated_reason or "",
                                "since": dr.deprecated_since or ""}
    if r.deprecated_for_removal:
        d["deprecated_for_removal"] = True
    if r.deprecated_reason:
        d["deprecated_reason"] = r.deprecated_reason
    if r.deprecated_since:
        d["deprecated_since"] = r.deprecated_since
    out.append(d)
json.dump({"version": version.version_string(), "rules": out}, sys.stdout, indent=1)
