"""Create a server with python-novaclient on a keystoneauth1 session.

The session logs in with a password at OS_AUTH_URL (OS_USERNAME,
OS_PASSWORD, OS_PROJECT_NAME, domain Default) and finds nova-api in the
catalog (OS_REGION_NAME, public interface), as OSC does. Prints the new
server as JSON: {"id": ..., "name": ..., "status": ...}.

usage: create_server.py NAME IMAGE_ID FLAVOR_ID [MICROVERSION]

MICROVERSION is 2.1 by default; "2.latest" negotiates as novaclient's
shell does (api_versions.discover_version: the newest version both the
server's version document and novaclient know).
"""

import json
import os
import sys

from keystoneauth1 import loading
from keystoneauth1 import session
from novaclient import api_versions
from novaclient import client


def main():
    name, image, flavor = sys.argv[1:4]
    version = sys.argv[4] if len(sys.argv) > 4 else "2.1"
    auth = loading.get_plugin_loader("password").load_from_options(
        auth_url=os.environ["OS_AUTH_URL"],
        username=os.environ["OS_USERNAME"],
        password=os.environ["OS_PASSWORD"],
        project_name=os.environ["OS_PROJECT_NAME"],
        user_domain_name="Default",
        project_domain_name="Default",
    )
    sess = session.Session(auth=auth, timeout=30)
    def nova_client(v):
        return client.Client(v, session=sess,
                             region_name=os.environ["OS_REGION_NAME"],
                             endpoint_type="public")

    if version.endswith(".latest"):
        nova = nova_client("2.1")
        version = api_versions.discover_version(
            nova, api_versions.APIVersion(version))
    nova = nova_client(version)
    kwargs = {}
    if nova.api_version >= api_versions.APIVersion("2.37"):
        kwargs["nics"] = "none"
    server = nova.servers.create(name, image=image, flavor=flavor, **kwargs)
    json.dump({"id": server.id, "name": name,
               "status": getattr(server, "status", ""),
               "endpoint": nova.client.get_endpoint(),
               "api_version": nova.api_version.get_string()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
