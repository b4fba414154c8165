"""Referee for gonova's policy.Enforcer over nova's defaults: nova 26's own
enforcer setup (oslo.policy Enforcer, nova.policies rules, nova's is_admin
check) deciding the same questions.

Reads one JSON document on stdin:
  {"runs": [{"policy_file": path or null, "policy_dirs": [paths],
             "enforce_scope": bool, "enforce_new_defaults": bool,
             "checks": [{"action", "target", "creds"}]}]}
and writes a JSON list (one per run) of lists of true | false | "error".
"""
import json
import sys
import warnings

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

import nova.policy  # noqa: F401  registers nova's is_admin check
from nova import policies

warnings.simplefilter("ignore")

doc = json.load(sys.stdin)
results = []
for run in doc["runs"]:
    conf = cfg.ConfigOpts()
    conf([], project="nova", default_config_files=[], default_config_dirs=[])
    oslo_policy.opts._register(conf)
    conf.set_override("enforce_scope", run["enforce_scope"], group="oslo_policy")
    conf.set_override("enforce_new_defaults", run["enforce_new_defaults"], group="oslo_policy")
    conf.set_override("policy_dirs", run.get("policy_dirs") or [], group="oslo_policy")
    enf = oslo_policy.Enforcer(conf, policy_file=run.get("policy_file") or "/nonexistent/policy.yaml")
    enf.suppress_default_change_warnings = True
    enf.register_defaults(policies.list_rules())
    enf.load_rules()
    out = []
    for c in run["checks"]:
        try:
            out.append(bool(enf.authorize(c["action"], c["target"], c["creds"], do_raise=True)))
        except (oslo_policy.PolicyNotAuthorized, oslo_policy.InvalidScope):
            out.append(False)
        except Exception as e:  # gonova must refuse
            out.append("error: %s: %s" % (type(e).__name__, e))
    results.append(out)
json.dump(results, sys.stdout)
