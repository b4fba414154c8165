#!/usr/bin/python3
"""Debian's Keystone for gonova's tests, without a web server.

    gonova-keystone.py serve --config-file F --host H --port P --pid-file PID
        Serves keystone.server.wsgi.initialize_public_application() with
        Python's wsgiref and a threading mix-in, in the foreground (the caller
        puts it in the background and redirects its output to a log file).
        Access lines go to stderr, Keystone's own log to its [DEFAULT]
        log_file.

    gonova-keystone.py register --auth-url U --admin-password P --nova-password N
                         --compute-url C --region R
        Registers, idempotently, what nova's [keystone_authtoken] needs: the
        project "service", the role "service", the user "nova" with the roles
        admin and service in project service, and the compute service with
        its public, internal and admin endpoints.

    gonova-keystone.py register-glance --auth-url U --admin-password P
                         --glance-password G --image-url I --region R
        Registers, idempotently, what Glance's [keystone_authtoken] and the
        clients need: the user "glance" with the roles admin and service in
        project service, and the image service with its public, internal and
        admin endpoints in region R.

Run it with Debian's /usr/bin/python3: that interpreter sees the python3-keystone
and python3-keystoneclient packages.
"""

import argparse
import os
import signal
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def address_string(self):
        # No reverse DNS per request.
        return self.client_address[0]


def serve(args):
    # A daemon keeps no descriptor of its starter (services.sh's lock, a
    # caller's pipe): only stdin, stdout and stderr.
    os.closerange(3, 1024)
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = os.path.abspath(args.config_file)
    os.environ["OS_KEYSTONE_CONFIG_DIR"] = os.path.dirname(os.path.abspath(args.config_file))
    # Keystone parses sys.argv with oslo.config: give it none of ours.
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi

    app = wsgi.initialize_public_application()
    httpd = make_server(args.host, args.port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    with open(args.pid_file + ".new", "w") as f:
        f.write("%d\n" % os.getpid())
    os.replace(args.pid_file + ".new", args.pid_file)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write("keystone listening on http://%s:%d (pid %d)\n" % (args.host, args.port, os.getpid()))
    sys.stderr.flush()
    try:
        httpd.serve_forever()
    finally:
        try:
            os.unlink(args.pid_file)
        except OSError:
            pass


def admin_client(args):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    from keystoneclient.v3 import client

    auth = v3.Password(auth_url=args.auth_url, username="admin", password=args.admin_password,
                       project_name="admin", user_domain_id="default", project_domain_id="default")
    return client.Client(session=session.Session(auth=auth), interface="public")


def register_service_user(ks, name, password):
    """The user name with roles admin and service in project service."""
    project = ks.projects.list(name="service", domain="default")
    if not project:
        raise SystemExit("project service is missing: run register first")
    project = project[0]
    roles = {r.name: r for r in ks.roles.list() if r.name in ("admin", "service")}
    users = ks.users.list(name=name, domain="default")
    if users:
        user = users[0]
        ks.users.update(user, password=password, enabled=True)
    else:
        user = ks.users.create(name=name, domain="default", password=password, default_project=project)
        print("created user %s" % name)
    for role in ("admin", "service"):
        ks.roles.grant(roles[role], user=user, project=project)  # PUT: idempotent


def register_endpoints(ks, name, service_type, description, url, region):
    """The service of service_type with public, internal and admin endpoints at url in region."""
    services = ks.services.list(type=service_type)
    service = services[0] if services else None
    if service is None:
        service = ks.services.create(name=name, type=service_type, description=description)
        print("created service %s" % service_type)
    have = {e.interface: e for e in ks.endpoints.list(service=service, region=region)}
    for interface in ("public", "internal", "admin"):
        e = have.get(interface)
        if e is None:
            ks.endpoints.create(service=service, url=url, interface=interface, region=region)
            print("created %s %s endpoint %s" % (interface, service_type, url))
        elif e.url != url:
            ks.endpoints.update(e, url=url)


def register_glance(args):
    ks = admin_client(args)
    register_service_user(ks, "glance", args.glance_password)
    register_endpoints(ks, "glance", "image", "OpenStack Image", args.image_url, args.region)
    print("glance user and image endpoints registered")


def register(args):
    ks = admin_client(args)

    def one(items):
        return items[0] if items else None

    project = one(ks.projects.list(name="service", domain="default"))
    if project is None:
        project = ks.projects.create(name="service", domain="default", description="Service project")
        print("created project service")
    roles = {}
    for name in ("admin", "service", "member", "reader"):
        role = one(ks.roles.list(name=name))
        if role is None:
            role = ks.roles.create(name=name)
            print("created role %s" % name)
        roles[name] = role
    user = one(ks.users.list(name="nova", domain="default"))
    if user is None:
        user = ks.users.create(name="nova", domain="default", password=args.nova_password,
                               default_project=project)
        print("created user nova")
    else:
        ks.users.update(user, password=args.nova_password, enabled=True)
    for name in ("admin", "service"):
        ks.roles.grant(roles[name], user=user, project=project)  # PUT: idempotent
    service = one(ks.services.list(type="compute"))
    if service is None:
        service = ks.services.create(name="nova", type="compute", description="OpenStack Compute")
        print("created service compute")
    have = {e.interface: e for e in ks.endpoints.list(service=service, region=args.region)}
    for interface in ("public", "internal", "admin"):
        e = have.get(interface)
        if e is None:
            ks.endpoints.create(service=service, url=args.compute_url, interface=interface, region=args.region)
            print("created %s compute endpoint %s" % (interface, args.compute_url))
        elif e.url != args.compute_url:
            ks.endpoints.update(e, url=args.compute_url)
    print("nova user, service project and compute endpoints registered")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--config-file", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=5000)
    s.add_argument("--pid-file", required=True)
    r = sub.add_parser("register")
    r.add_argument("--auth-url", required=True)
    r.add_argument("--admin-password", required=True)
    r.add_argument("--nova-password", required=True)
    r.add_argument("--compute-url", required=True)
    r.add_argument("--region", default="RegionOne")
    g = sub.add_parser("register-glance")
    g.add_argument("--auth-url", required=True)
    g.add_argument("--admin-password", required=True)
    g.add_argument("--glance-password", required=True)
    g.add_argument("--image-url", required=True)
    g.add_argument("--region", default="RegionOne")
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
    elif args.cmd == "register-glance":
        register_glance(args)
    else:
        register(args)


if __name__ == "__main__":
    main()
