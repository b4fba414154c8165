"""Referee for gonova's hypervisor bodies: nova 26's own
HypervisorsController._view_hypervisor on a ComputeNode and Service built
from what gonova stored. Reads [{"version", "detail", "node", "service", "up",
"uptime", "servers", "with_servers"}] on stdin, writes one view per case."""
import json
import sys
import warnings
from unittest import mock

warnings.simplefilter("ignore")

from oslo_serialization import jsonutils  # noqa: E402

from nova import config, objects  # noqa: E402
from nova.api.openstack import api_version_request as avr  # noqa: E402
from nova.api.openstack import wsgi as nwsgi  # noqa: E402
from nova.api.openstack.compute import hypervisors  # noqa: E402

objects.register_all()
config.parse_args([], configure_db=False, init_rpc=False)
with mock.patch("nova.compute.api.HostAPI.__init__", lambda self: None), \
        mock.patch("nova.servicegroup.API.__init__", lambda self: None):
    ctrl = hypervisors.HypervisorsController()

out = []
for case in json.load(sys.stdin):
    ctrl.servicegroup_api = mock.Mock()
    ctrl.servicegroup_api.service_is_up.return_value = case["up"]
    ctrl.host_api = mock.Mock()
    if case["uptime"] is None:
        ctrl.host_api.get_host_uptime.side_effect = NotImplementedError()
    else:
        ctrl.host_api.get_host_uptime.return_value = case["uptime"]
    req = nwsgi.Request.blank("/v2.1/os-hypervisors")
    req.api_version_request = avr.APIVersionRequest(case["version"])
    req.environ["nova.context"] = mock.Mock()
    n = case["node"]
    node = objects.ComputeNode(**{k: v for k, v in n.items() if v is not None})
    if n.get("host_ip") is None:
        node.host_ip = None
    s = case["service"]
    service = objects.Service(id=s["id"], uuid=s["uuid"], disabled=s["disabled"], disabled_reason=s["disabled_reason"])
    servers = [{"name": x["name"], "uuid": x["uuid"]} for x in case["servers"]] or None
    view = ctrl._view_hypervisor(node, service, case["detail"], req, servers=servers,
                                 with_servers=case["with_servers"])
    out.append(json.loads(jsonutils.dumps(view)))
json.dump(out, sys.stdout)
