"""Referee for gonova's pkg/wsgi/policy: Debian's python3-oslo.policy.

Reads JSON lines {"rule", "rules", "creds", "target"} on stdin and writes,
for each, a JSON line {"str": str(parse_rule(rule)), "parse_error": bool,
"result": true | false | "error"}: how oslo.policy parses the rule, whether
its parser logged that it did not understand it, and what enforcing it
(with "rules" as the other named rules) answers.
"""
import json
import logging
import sys

from oslo_config import cfg
from oslo_policy import _parser, policy


class Flag(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.hit = False

    def emit(self, record):
        if record.levelno >= logging.ERROR:
            self.hit = True


flag = Flag()
log = logging.getLogger("oslo_policy._parser")
log.addHandler(flag)
log.propagate = False
log.setLevel(logging.DEBUG)

conf = cfg.ConfigOpts()
conf([], project="gonova-referee")
enforcers = {}

for line in sys.stdin:
    req = json.loads(line)
    flag.hit = False
    rule = req["rule"]
    check = _parser.parse_rule(rule)
    out = {"str": str(check), "parse_error": flag.hit}
    # A rule that reduces to a bare token is not a check: oslo would fail
    # when enforcing it.
    if not hasattr(check, "__call__") or isinstance(check, str):
        out["str"] = "<not a check>"
        out["result"] = "error"
        out["parse_error"] = True
    else:
        key = json.dumps(req.get("rules") or {}, sort_keys=True)
        enf = enforcers.get(key)
        if enf is None:
            enf = policy.Enforcer(conf, use_conf=False)
            enf.set_rules(policy.Rules.from_dict(req.get("rules") or {}), use_conf=False)
            enforcers[key] = enf
        try:
            out["result"] = bool(enf.enforce(check, req.get("target") or {}, req.get("creds") or {}))
        except Exception as e:  # oslo raises where gonova fails closed
            out["result"] = "error"
            out["error"] = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
