"""Referee for gonova's servers list query handling: nova 26's own
ServersController.index (query schema, _get_servers) with compute_api.get_all
replaced by a recorder, and the database's classification of the filters
(exact or regex, deleted and soft_deleted, sort defaults) applied to what it
records. Reads [{"url", "version", "admin"}] on stdin, writes one normalized
answer per request on stdout."""
import json
import sys
import warnings
from unittest import mock

warnings.simplefilter("ignore")

import webob  # noqa: E402
from oslo_utils import timeutils  # noqa: E402

from nova import config, exception, objects, policy  # noqa: E402
from nova import context as nctx  # noqa: E402
from nova.api.openstack import api_version_request as avr  # noqa: E402
from nova.api.openstack import wsgi as nwsgi  # noqa: E402
from nova.api.openstack.compute import servers  # noqa: E402
from nova.db import utils as db_utils  # noqa: E402
from nova.db.main import models  # noqa: E402

objects.register_all()
config.parse_args([], configure_db=False, init_rpc=False)
policy.reset()
policy.init()
with mock.patch("nova.compute.api.API.__init__", lambda self: None):
    ctrl = servers.ServersController()
ctrl.compute_api = mock.Mock()
captured = {}


def get_all(context, search_opts=None, limit=None, marker=None, expected_attrs=None, sort_keys=None, sort_dirs=None,
            cell_down_support=False, all_tenants=False):
    captured.update(search_opts=search_opts, sort_keys=sort_keys, sort_dirs=sort_dirs, all_tenants=all_tenants)
    return objects.InstanceList(objects=[])


ctrl.compute_api.get_all = get_all
objects.InstanceList.fill_faults = lambda self: None  # no database: the list is empty

# gonova's columns by nova's names; what gonova lacks holds NULL
COLUMNS = {"uuid", "display_name", "user_id", "project_id", "host", "node", "vm_state", "task_state", "power_state",
           "instance_type_id", "image_ref", "created_at", "updated_at", "launched_at", "terminated_at",
           "availability_zone", "id", "locked", "locked_by", "key_name", "reservation_id", "launch_index"}
EXACT = ["project_id", "user_id", "image_ref", "vm_state", "instance_type_id", "uuid", "metadata", "host",
         "task_state", "system_metadata", "locked", "hidden"]


def normalize(so, sort_keys, sort_dirs, all_tenants):
    f = {}
    remap = {"image": "image_ref", "name": "display_name", "tenant_id": "project_id", "flavor": "instance_type_id"}
    for k, v in so.items():
        f[remap.get(k, k)] = v
    out = {"all_tenants": all_tenants, "exact": {}, "regex": {}, "nothing": False}
    out["ip"] = "ip" in f or "ip6" in f
    for k in ("changes-since", "changes-before"):
        if f.get(k):
            out[k] = timeutils.normalize_time(f.pop(k)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if "deleted" in f:
        if f.pop("deleted"):
            out["deleted"] = "deleted+soft" if f.pop("soft_deleted", True) else "deleted"
        else:
            out["deleted"] = "live" if f.pop("soft_deleted", False) else "live-not-soft"
    else:
        out["deleted"] = "all"
    for t in ("tags", "tags-any", "not-tags", "not-tags-any"):
        if t in f:
            out[t] = f.pop(t)
    if not all_tenants:
        f.pop("project_id", None)
    for k in EXACT:
        if k in f:
            v = f.pop(k)
            if k == "locked":
                out["locked"] = v
                continue
            out["exact"][k] = sorted(v) if isinstance(v, list) else [v]
    for k, v in f.items():
        attr = getattr(models.Instance, k, None)
        if attr is None or type(attr).__name__ == "property":
            continue
        if k in COLUMNS:
            out["regex"][k] = str(v)
        else:
            out["nothing"] = True
    keys, dirs = db_utils.process_sort_params(sort_keys, sort_dirs, default_dir="desc")
    out["sort"] = [[k, d] for k, d in zip(keys, dirs) if k in COLUMNS]
    return out


answers = []
for r in json.load(sys.stdin):
    captured.clear()
    req = nwsgi.Request.blank("/v2.1" + r["url"])
    if r["admin"]:
        ctx = nctx.RequestContext("admin", "admin", is_admin=True, roles=["admin", "member", "reader"])
    else:
        ctx = nctx.RequestContext("alice", "proj-a", is_admin=False, roles=["member", "reader"])
    req.environ["nova.context"] = ctx
    req.api_version_request = avr.APIVersionRequest(r["version"])
    try:
        # detail's query handling is index's (only the policy names differ);
        # its view would need a database.
        ctrl.index(req)
        if not captured:
            answers.append({"code": 200, "empty": True})
            continue
        try:
            n = normalize(captured["search_opts"], captured["sort_keys"], captured["sort_dirs"], captured["all_tenants"])
        except exception.InvalidInput as e:
            answers.append({"code": 400, "message": e.format_message()})
            continue
        n["code"] = 200
        answers.append(n)
    except webob.exc.HTTPException as e:
        answers.append({"code": e.code, "message": e.explanation})
    except exception.ValidationError as e:
        answers.append({"code": 400, "message": e.format_message()})
    except exception.PolicyNotAuthorized as e:
        answers.append({"code": 403, "message": e.format_message()})
    except exception.Invalid as e:
        answers.append({"code": 400, "message": e.format_message()})
json.dump(answers, sys.stdout)
