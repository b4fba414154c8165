"""Create several servers in one request with python-novaclient.

nova-api runs with auth_strategy = noauth2: the session sends TOKEN
("user:project") as X-Auth-Token to ENDPOINT (keystoneauth1's
token_endpoint plugin). novaclient's servers.create sends min_count and
max_count; with RESERVATION "1" it also asks for the reservation id
(return_reservation_id), which novaclient returns, a string, instead of
a server.
Prints JSON: {"id": ...} (the first server) or {"reservation_id": ...}.

usage: create_servers.py ENDPOINT TOKEN NAME IMAGE_ID FLAVOR_ID MIN MAX RESERVATION
"""

import json
import sys

from keystoneauth1 import session
from keystoneauth1 import token_endpoint
from novaclient import client


def main():
    endpoint, token, name, image, flavor, lo, hi, resv = sys.argv[1:9]
    sess = session.Session(auth=token_endpoint.Token(endpoint, token), timeout=30)
    nova = client.Client("2.1", session=sess, endpoint_override=endpoint)
    out = nova.servers.create(name, image=image, flavor=flavor,
                              min_count=int(lo), max_count=int(hi),
                              reservation_id=(resv == "1"))
    if resv == "1":
        # novaclient returns the "reservation_id" of the body: a string.
        json.dump({"reservation_id": str(out)}, sys.stdout)
    else:
        json.dump({"id": out.id}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
