#!/usr/bin/env bash
# Make sure the real parts gonova's tests use answer on loopback:
#   PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth on loopback),
#   RabbitMQ on 127.0.0.1:5672 (guest/guest),
#   Debian's python3-oslo.messaging under /usr/bin/python3 (the RPC interop peer),
#   Debian's python3-oslo.versionedobjects, python3-oslo.policy and python3-nova
#   (the referees of pkg/ovo, of pkg/wsgi/policy and of nova's payloads and rules),
#   promtool (checks and unit-tests deploy/prometheus): the one on PATH, or the
#   binary alone taken from Debian's prometheus package into .tools/bin (the
#   package itself would install and start a Prometheus server),
#   Keystone (Debian's keystone 22) on http://127.0.0.1:5000/v3: a database
#   gonova_keystone on the local Postgres, state under $KEYSTONE_HOME
#   (/var/lib/gonova-keystone as root, else .tools/keystone), served by
#   scripts/gonova-keystone.py (wsgiref, no web server); user admin (password
#   $GONOVA_KEYSTONE_ADMIN_PASSWORD, default gonova-admin) in project admin,
#   user nova (password gonova-nova, roles admin and service in project
#   service) and the compute service in the catalog,
#   memcached on 127.0.0.1:11211 (keystonemiddleware's shared token cache),
#   Glance (Debian's glance 25) on http://127.0.0.1:9292: glance-api with the
#   file store under $GLANCE_HOME (/var/lib/gonova-glance as root, else
#   .tools/glance), its database gonova_glance on the local Postgres, Keystone
#   auth (user glance, password $GONOVA_GLANCE_PASSWORD, default gonova-glance,
#   roles admin and service in project service) and the image service with
#   its endpoints in Keystone's catalog (region RegionOne, as the compute's),
#   Debian's python3-tempest (tempest.lib's compute response schemas, the
#   referee of internal/e2e's schema test).
# Uses what already answers; starts what is installed but stopped; on Debian as
# root installs what is missing with apt-get. Otherwise it says exactly what to
# start. Idempotent, and quick when everything already runs.
set -euo pipefail

PGHOST_ADDR=127.0.0.1
PGPORT=${PGPORT:-5432}
AMQP_PORT=${AMQP_PORT:-5672}
PY=/usr/bin/python3

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    answers "$1" && return 0
    sleep 0.25
  done
  return 1
}

is_root() { [ "$(id -u)" = 0 ]; }
is_debian() { [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

apt_updated=
apt_update_once() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt_updated=1
  fi
}

apt_install() {
  is_root && is_debian || return 1
  apt_update_once
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_ok() { pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT" 2>/dev/null || answers "$PGPORT"; }

pg_login_ok() {
  command -v psql >/dev/null || return 0 # nothing to check with; the tests will say
  psql -h "$PGHOST_ADDR" -p "$PGPORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1
}

pg_start() {
  command -v pg_ctlcluster >/dev/null || return 1
  local v
  for v in $(ls /etc/postgresql 2>/dev/null); do
    log "starting PostgreSQL $v/main"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || pg_ctlcluster "$v" main start || true
  done
  wait_port "$PGPORT" 30
}

# A fresh Debian cluster asks for passwords on TCP; the tests (like the
# development machines) use trust on loopback only.
pg_trust_loopback() {
  is_root || return 1
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    grep -q '^# gonova: trust loopback' "$hba" && continue
    log "allowing trust auth on loopback in $hba"
    { printf '# gonova: trust loopback for tests\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'; cat "$hba"; } >"$hba.new"
    chown --reference="$hba" "$hba.new" 2>/dev/null || true
    chmod --reference="$hba" "$hba.new" 2>/dev/null || true
    mv "$hba.new" "$hba"
  done
  local v
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main reload 2>/dev/null || pg_ctlcluster "$v" main reload || true
  done
  sleep 1
}

ensure_postgres() {
  if ! pg_ok; then
    if ! pg_start; then
      if apt_install postgresql postgresql-client; then
        pg_start || die "PostgreSQL was installed but does not answer on $PGHOST_ADDR:$PGPORT; see /var/log/postgresql/"
      else
        die "PostgreSQL does not answer on $PGHOST_ADDR:$PGPORT. Start it (for example: docker compose -f deploy/docker-compose.yml up -d postgres), or run this script as root on Debian to install it."
      fi
    fi
  fi
  if ! pg_login_ok; then
    pg_trust_loopback || true
    pg_login_ok || die "PostgreSQL answers but user postgres cannot log in over TCP without a password; allow trust for 127.0.0.1 in pg_hba.conf, or set GONOVA_TEST_PG_URL"
  fi
  log "PostgreSQL answers on $PGHOST_ADDR:$PGPORT"
}

rabbit_start() {
  command -v rabbitmq-server >/dev/null || return 1
  log "starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port "$AMQP_PORT" 90 || return 1
  # The port opens before the broker is ready to accept logins.
  command -v rabbitmqctl >/dev/null && rabbitmqctl -q await_startup >/dev/null 2>&1 || true
}

ensure_rabbit() {
  if ! answers "$AMQP_PORT"; then
    if ! rabbit_start; then
      if apt_install rabbitmq-server; then
        rabbit_start || die "RabbitMQ was installed but does not answer on 127.0.0.1:$AMQP_PORT; see /var/log/rabbitmq/"
      else
        die "RabbitMQ does not answer on 127.0.0.1:$AMQP_PORT. Start it (for example: docker compose -f deploy/docker-compose.yml up -d rabbitmq), or run this script as root on Debian to install it."
      fi
    fi
  fi
  log "RabbitMQ answers on 127.0.0.1:$AMQP_PORT"
}

ensure_python_oslo() {
  if [ -x "$PY" ] && "$PY" -c 'import oslo_messaging' 2>/dev/null; then
    log "python3-oslo.messaging importable by $PY"
    return
  fi
  apt_install python3 python3-oslo.messaging ||
    die "Debian's python3-oslo.messaging is missing: apt-get install python3-oslo.messaging (it must import under $PY)"
  "$PY" -c 'import oslo_messaging' || die "python3-oslo.messaging installed but does not import under $PY"
  log "python3-oslo.messaging installed"
}

# ensure_python_module MODULE PACKAGE: Debian's PACKAGE makes MODULE importable
# under $PY (the policy referees: python3-oslo.policy for pkg/wsgi/policy,
# python3-nova for internal/policies).
ensure_python_module() {
  if [ -x "$PY" ] && "$PY" -c "import $1" 2>/dev/null; then
    log "$2 importable by $PY"
    return
  fi
  apt_install python3 "$2" ||
    die "Debian's $2 is missing: apt-get install $2 (it must import under $PY)"
  "$PY" -c "import $1" || die "$2 installed but does not import under $PY"
  log "$2 installed"
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROMTOOL_LOCAL=$ROOT/.tools/bin/promtool

ensure_promtool() {
  if command -v promtool >/dev/null; then
    log "promtool on PATH: $(command -v promtool)"
    return
  fi
  if [ -x "$PROMTOOL_LOCAL" ] && "$PROMTOOL_LOCAL" --version >/dev/null 2>&1; then
    log "promtool at $PROMTOOL_LOCAL"
    return
  fi
  is_debian || die "promtool is missing: install Prometheus's promtool on PATH (deploy/ tests run it)"
  local tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'; trap - RETURN" RETURN
  # apt-get download needs current package lists; refresh them once if the
  # first try fails (a fresh machine has none).
  if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
    if is_root; then apt_update_once; fi
    (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) ||
      die "promtool is missing and Debian's prometheus package could not be downloaded: install promtool on PATH"
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  mkdir -p "$(dirname "$PROMTOOL_LOCAL")"
  install -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL_LOCAL"
  "$PROMTOOL_LOCAL" --version >/dev/null || die "the promtool taken from Debian's prometheus package does not run"
  log "promtool taken from Debian's prometheus package into $PROMTOOL_LOCAL"
}

# --- Keystone and memcached ---------------------------------------------------
# Debian's keystone package would serve Keystone with uwsgi from its own
# /etc/keystone on sqlite; gonova's tests want one on the local Postgres with
# known credentials, so this keeps its state apart and serves it with
# scripts/gonova-keystone.py. The compute endpoint registered in the catalog is a
# placeholder (tests start nova-api on ports of their own).
KEYSTONE_PORT=${KEYSTONE_PORT:-5000}
KEYSTONE_URL=http://127.0.0.1:$KEYSTONE_PORT/v3
KEYSTONE_DB=${GONOVA_KEYSTONE_DB:-gonova_keystone}
KEYSTONE_ADMIN_PASSWORD=${GONOVA_KEYSTONE_ADMIN_PASSWORD:-gonova-admin}
KEYSTONE_NOVA_PASSWORD=${GONOVA_KEYSTONE_NOVA_PASSWORD:-gonova-nova}
KEYSTONE_COMPUTE_URL=${GONOVA_KEYSTONE_COMPUTE_URL:-http://127.0.0.1:8774/v2.1}
if is_root; then KEYSTONE_HOME=${GONOVA_KEYSTONE_HOME:-/var/lib/gonova-keystone}; else KEYSTONE_HOME=${GONOVA_KEYSTONE_HOME:-$ROOT/.tools/keystone}; fi
MEMCACHED_PORT=${MEMCACHED_PORT:-11211}

keystone_login_ok() { # user password project: a token can be issued
  local body
  body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"%s","domain":{"id":"default"}}}}}' "$1" "$2" "$3")
  [ "$(curl -s -o /dev/null -m 10 -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" "$KEYSTONE_URL/auth/tokens")" = 201 ]
}

# Keystone is up, bootstrapped, and the admin password is the tests'.
keystone_token_ok() { keystone_login_ok admin "$KEYSTONE_ADMIN_PASSWORD" admin; }

keystone_answers() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$KEYSTONE_URL")" = 200 ]; }

# Ready: the Keystone this script runs is up to date and answers; or one
# this script does not run (another user's, a container) already has the
# tests' admin and nova users.
keystone_ready() {
  if [ -f "$KEYSTONE_HOME/running.conf" ]; then
    [ -f "$KEYSTONE_HOME/registered" ] && keystone_conf_current && keystone_token_ok
  else
    keystone_answers && keystone_token_ok && keystone_login_ok nova "$KEYSTONE_NOVA_PASSWORD" service
  fi
}

keystone_installed() {
  command -v keystone-manage >/dev/null && command -v openstack >/dev/null &&
    "$PY" -c 'import keystone.server.wsgi, psycopg2, keystoneclient' 2>/dev/null
}

keystone_ours_running() {
  local pid
  pid=$(cat "$KEYSTONE_HOME/keystone.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

keystone_conf_text() {
  cat <<EOF
# Written by gonova's scripts/services.sh; rewritten on each run.
[DEFAULT]
log_file = $KEYSTONE_HOME/keystone.log
[database]
connection = postgresql+psycopg2://postgres@$PGHOST_ADDR:$PGPORT/$KEYSTONE_DB
[token]
provider = fernet
[fernet_tokens]
key_repository = $KEYSTONE_HOME/fernet-keys
[fernet_receipts]
key_repository = $KEYSTONE_HOME/fernet-keys
[credential]
key_repository = $KEYSTONE_HOME/credential-keys
[cache]
# Keystone's own cache, as devstack configures it: validations are several
# times faster, and revocations still invalidate it.
enabled = true
backend = dogpile.cache.memcached
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
EOF
}

# The running Keystone started with the keystone.conf this script writes now
# (keystone_start keeps a copy as running.conf).
keystone_conf_current() { keystone_conf_text | cmp -s - "$KEYSTONE_HOME/running.conf"; }

keystone_write_conf() {
  mkdir -p "$KEYSTONE_HOME/fernet-keys" "$KEYSTONE_HOME/credential-keys"
  chmod 0700 "$KEYSTONE_HOME" "$KEYSTONE_HOME/fernet-keys" "$KEYSTONE_HOME/credential-keys"
  keystone_conf_text >"$KEYSTONE_HOME/keystone.conf.new"
  mv "$KEYSTONE_HOME/keystone.conf.new" "$KEYSTONE_HOME/keystone.conf"
}

keystone_stop_ours() {
  local pid i
  pid=$(cat "$KEYSTONE_HOME/keystone.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  log "stopping Keystone (pid $pid) to apply the new keystone.conf"
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  die "Keystone (pid $pid) did not stop"
}

keystone_manage() { keystone-manage --config-file "$KEYSTONE_HOME/keystone.conf" "$@" >>"$KEYSTONE_HOME/manage.log" 2>&1; }

keystone_setup() {
  keystone_write_conf
  if [ "$(psql -h "$PGHOST_ADDR" -p "$PGPORT" -U postgres -d postgres -Atc "select 1 from pg_database where datname = '$KEYSTONE_DB'")" != 1 ]; then
    log "creating database $KEYSTONE_DB"
    psql -h "$PGHOST_ADDR" -p "$PGPORT" -U postgres -d postgres -qc "create database $KEYSTONE_DB" >/dev/null
  fi
  log "keystone-manage db_sync, fernet_setup, credential_setup, bootstrap (log: $KEYSTONE_HOME/manage.log)"
  local u g
  u=$(id -un) g=$(id -gn)
  keystone_manage db_sync || die "keystone-manage db_sync failed; see $KEYSTONE_HOME/manage.log"
  [ -f "$KEYSTONE_HOME/fernet-keys/0" ] || keystone_manage fernet_setup --keystone-user "$u" --keystone-group "$g" || die "keystone-manage fernet_setup failed; see $KEYSTONE_HOME/manage.log"
  [ -f "$KEYSTONE_HOME/credential-keys/0" ] || keystone_manage credential_setup --keystone-user "$u" --keystone-group "$g" || die "keystone-manage credential_setup failed; see $KEYSTONE_HOME/manage.log"
  keystone_manage bootstrap --bootstrap-password "$KEYSTONE_ADMIN_PASSWORD" \
    --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$KEYSTONE_URL" --bootstrap-internal-url "$KEYSTONE_URL" --bootstrap-public-url "$KEYSTONE_URL" ||
    die "keystone-manage bootstrap failed; see $KEYSTONE_HOME/manage.log"
}

# The package's postinst starts its own uwsgi Keystone on :5000 (sqlite,
# /etc/keystone): stop it, by its init script and pid file, and keep it from
# starting at boot, so the port is ours.
keystone_stop_packaged() {
  [ -x /etc/init.d/keystone ] && is_root || return 0
  /etc/init.d/keystone stop >/dev/null 2>&1 || true
  update-rc.d keystone disable >/dev/null 2>&1 || true
  local f pid i
  for f in /run/keystone/keystone.pid /var/run/keystone/keystone.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 40; i++)); do answers "$KEYSTONE_PORT" || return 0; sleep 0.25; done
}

keystone_start() {
  cp "$KEYSTONE_HOME/keystone.conf" "$KEYSTONE_HOME/running.conf"
  log "starting Keystone on 127.0.0.1:$KEYSTONE_PORT (logs: $KEYSTONE_HOME/wsgi.log, keystone.log; pid file keystone.pid)"
  setsid nohup "$PY" "$ROOT/scripts/gonova-keystone.py" serve --config-file "$KEYSTONE_HOME/keystone.conf" \
    --host 127.0.0.1 --port "$KEYSTONE_PORT" --pid-file "$KEYSTONE_HOME/keystone.pid" \
    >>"$KEYSTONE_HOME/wsgi.log" 2>&1 </dev/null 9>&- &
  local pid=$! i
  for ((i = 0; i < 240; i++)); do
    keystone_answers && return 0
    kill -0 "$pid" 2>/dev/null || die "Keystone exited at start; see $KEYSTONE_HOME/wsgi.log and keystone.log"
    sleep 0.25
  done
  die "Keystone did not answer on $KEYSTONE_URL within 60 s; see $KEYSTONE_HOME/wsgi.log and keystone.log"
}

ensure_keystone() {
  if keystone_ready; then
    log "Keystone answers on $KEYSTONE_URL"
    return
  fi
  if ! keystone_installed; then
    apt_install keystone python3-keystone python3-psycopg2 python3-openstackclient python3-keystoneclient ||
      die "Keystone is missing: run this script as root on Debian to install it (apt-get install keystone python3-keystone python3-psycopg2 python3-openstackclient), or start a Keystone with user admin / \$GONOVA_KEYSTONE_ADMIN_PASSWORD and set GONOVA_TEST_KEYSTONE_URL"
    keystone_stop_packaged
    keystone_installed || die "keystone installed but $PY cannot import keystone.server.wsgi, psycopg2 and keystoneclient"
  fi
  mkdir -p "$KEYSTONE_HOME"
  # Two runs at once (two worktrees) must not both bootstrap and start.
  exec 9>"$KEYSTONE_HOME/lock"
  flock -w 600 9 || die "another services.sh holds $KEYSTONE_HOME/lock"
  if ! keystone_ready; then
    keystone_setup
    if answers "$KEYSTONE_PORT" && ! keystone_ours_running; then
      keystone_stop_packaged
      if answers "$KEYSTONE_PORT"; then
        die "port $KEYSTONE_PORT is taken by something that is not gonova's Keystone (no live pid in $KEYSTONE_HOME/keystone.pid); stop it or set KEYSTONE_PORT"
      fi
    fi
    if keystone_ours_running && ! keystone_conf_current; then keystone_stop_ours; fi
    keystone_ours_running || keystone_start
    keystone_token_ok || die "Keystone answers on $KEYSTONE_URL but refuses admin / \$GONOVA_KEYSTONE_ADMIN_PASSWORD; see $KEYSTONE_HOME/keystone.log"
    log "registering user nova, project service and the compute service (placeholder endpoint $KEYSTONE_COMPUTE_URL)"
    "$PY" "$ROOT/scripts/gonova-keystone.py" register --auth-url "$KEYSTONE_URL" --admin-password "$KEYSTONE_ADMIN_PASSWORD" \
      --nova-password "$KEYSTONE_NOVA_PASSWORD" --compute-url "$KEYSTONE_COMPUTE_URL" --region RegionOne \
      >>"$KEYSTONE_HOME/manage.log" 2>&1 || die "registering nova in Keystone failed; see $KEYSTONE_HOME/manage.log"
    touch "$KEYSTONE_HOME/registered"
  fi
  exec 9>&-
  log "Keystone answers on $KEYSTONE_URL (state in $KEYSTONE_HOME)"
}

memcached_start() {
  command -v memcached >/dev/null || return 1
  log "starting memcached on 127.0.0.1:$MEMCACHED_PORT"
  if is_root; then
    local u=memcache
    id "$u" >/dev/null 2>&1 || u=root
    memcached -d -u "$u" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 || return 1
  else
    memcached -d -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 || return 1
  fi
  wait_port "$MEMCACHED_PORT" 10
}

ensure_memcached() {
  if ! answers "$MEMCACHED_PORT"; then
    if ! memcached_start; then
      if apt_install memcached; then
        # The package's postinst may have started one already.
        answers "$MEMCACHED_PORT" || memcached_start || die "memcached was installed but does not answer on 127.0.0.1:$MEMCACHED_PORT"
      else
        die "memcached does not answer on 127.0.0.1:$MEMCACHED_PORT. Start it (memcached -d -l 127.0.0.1 -p $MEMCACHED_PORT), or run this script as root on Debian to install it."
      fi
    fi
  fi
  log "memcached answers on 127.0.0.1:$MEMCACHED_PORT"
}

# --- Glance -------------------------------------------------------------------
# Debian's glance-api package would serve Glance from its own /etc/glance on
# sqlite; gonova's tests want one on the local Postgres behind the tests'
# Keystone, so, as for Keystone, its state is kept apart and glance-api is
# started here (eventlet, one process) with a glance-api.conf of our own.
GLANCE_PORT=${GLANCE_PORT:-9292}
GLANCE_URL=http://127.0.0.1:$GLANCE_PORT
GLANCE_DB=${GONOVA_GLANCE_DB:-gonova_glance}
GLANCE_PASSWORD=${GONOVA_GLANCE_PASSWORD:-gonova-glance}
if is_root; then GLANCE_HOME=${GONOVA_GLANCE_HOME:-/var/lib/gonova-glance}; else GLANCE_HOME=${GONOVA_GLANCE_HOME:-$ROOT/.tools/glance}; fi

glance_installed() {
  command -v glance-api >/dev/null && command -v glance-manage >/dev/null &&
    "$PY" -c 'import glance.cmd.api, psycopg2' 2>/dev/null && [ -f /etc/glance/glance-api-paste.ini ]
}

glance_conf_text() {
  cat <<EOF
# Written by gonova's scripts/services.sh; rewritten on each run.
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $GLANCE_PORT
# 0: glance-api serves in its own process, no forked workers.
workers = 0
log_file = $GLANCE_HOME/glance-api.log
node_staging_uri = file://$GLANCE_HOME/staging
enabled_backends = fs:file
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $GLANCE_HOME/images
[os_glance_staging_store]
filesystem_store_datadir = $GLANCE_HOME/staging
[os_glance_tasks_store]
filesystem_store_datadir = $GLANCE_HOME/tasks
[database]
connection = postgresql+psycopg2://postgres@$PGHOST_ADDR:$PGPORT/$GLANCE_DB
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
auth_type = password
username = glance
password = $GLANCE_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
interface = public
memcached_servers = 127.0.0.1:$MEMCACHED_PORT
[oslo_concurrency]
lock_path = $GLANCE_HOME/lock
EOF
}

glance_conf_current() { glance_conf_text | cmp -s - "$GLANCE_HOME/running.conf"; }

glance_answers() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$GLANCE_URL/versions")" = 200 ]; }

glance_ours_running() {
  local pid
  pid=$(cat "$GLANCE_HOME/glance-api.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Ready: the glance-api this script runs has the conf it writes now, answers,
# and the glance user can log in at Keystone; or one this script does not run
# answers and the glance user logs in.
glance_ready() {
  if [ -f "$GLANCE_HOME/running.conf" ]; then
    [ -f "$GLANCE_HOME/registered" ] && glance_conf_current && glance_ours_running && glance_answers &&
      keystone_login_ok glance "$GLANCE_PASSWORD" service
  else
    glance_answers && keystone_login_ok glance "$GLANCE_PASSWORD" service
  fi
}

glance_stop_ours() {
  local pid i
  pid=$(cat "$GLANCE_HOME/glance-api.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  log "stopping glance-api (pid $pid) to apply the new glance-api.conf"
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  die "glance-api (pid $pid) did not stop"
}

# The package's postinst may start its own glance-api on :9292 (sqlite,
# /etc/glance): stop it by its init script and keep it from starting at boot.
glance_stop_packaged() {
  [ -x /etc/init.d/glance-api ] && is_root || return 0
  /etc/init.d/glance-api stop >/dev/null 2>&1 || true
  update-rc.d glance-api disable >/dev/null 2>&1 || true
  local f pid i
  for f in /run/glance/glance-api.pid /var/run/glance/glance-api.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 40; i++)); do answers "$GLANCE_PORT" || return 0; sleep 0.25; done
}

glance_setup() {
  mkdir -p "$GLANCE_HOME/images" "$GLANCE_HOME/staging" "$GLANCE_HOME/tasks" "$GLANCE_HOME/lock"
  chmod 0700 "$GLANCE_HOME"
  glance_conf_text >"$GLANCE_HOME/glance-api.conf.new"
  mv "$GLANCE_HOME/glance-api.conf.new" "$GLANCE_HOME/glance-api.conf"
  if [ "$(psql -h "$PGHOST_ADDR" -p "$PGPORT" -U postgres -d postgres -Atc "select 1 from pg_database where datname = '$GLANCE_DB'")" != 1 ]; then
    log "creating database $GLANCE_DB"
    psql -h "$PGHOST_ADDR" -p "$PGPORT" -U postgres -d postgres -qc "create database $GLANCE_DB" >/dev/null
  fi
  log "glance-manage db_sync (log: $GLANCE_HOME/manage.log)"
  glance-manage --config-file "$GLANCE_HOME/glance-api.conf" --config-dir "$GLANCE_HOME/empty.d" db_sync >>"$GLANCE_HOME/manage.log" 2>&1 ||
    die "glance-manage db_sync failed; see $GLANCE_HOME/manage.log"
}

glance_start() {
  cp "$GLANCE_HOME/glance-api.conf" "$GLANCE_HOME/running.conf"
  log "starting glance-api on $GLANCE_URL (logs: $GLANCE_HOME/glance-api.log, stdout.log; pid file glance-api.pid)"
  # An empty --config-dir: glance-api must not also read /etc/glance's files.
  setsid nohup glance-api --config-file "$GLANCE_HOME/glance-api.conf" --config-dir "$GLANCE_HOME/empty.d" \
    >>"$GLANCE_HOME/stdout.log" 2>&1 </dev/null 9>&- &
  local pid=$! i
  echo "$pid" >"$GLANCE_HOME/glance-api.pid"
  for ((i = 0; i < 240; i++)); do
    glance_answers && return 0
    kill -0 "$pid" 2>/dev/null || die "glance-api exited at start; see $GLANCE_HOME/stdout.log and glance-api.log"
    sleep 0.25
  done
  die "glance-api did not answer on $GLANCE_URL within 60 s; see $GLANCE_HOME/stdout.log and glance-api.log"
}

ensure_glance() {
  if glance_ready; then
    log "Glance answers on $GLANCE_URL"
    return
  fi
  if ! glance_installed; then
    apt_install glance python3-glance python3-psycopg2 ||
      die "Glance is missing: run this script as root on Debian to install it (apt-get install glance python3-glance python3-psycopg2), or start a Glance registered in the tests' Keystone and set GONOVA_TEST_GLANCE_URL"
    glance_stop_packaged
    glance_installed || die "glance installed but glance-api, glance-manage or $PY's glance.cmd.api and psycopg2 are missing"
  fi
  mkdir -p "$GLANCE_HOME/empty.d"
  # Two runs at once (two worktrees) must not both set up and start.
  exec 9>"$GLANCE_HOME/flock"
  flock -w 600 9 || die "another services.sh holds $GLANCE_HOME/flock"
  if ! glance_ready; then
    log "registering user glance and the image service ($GLANCE_URL, region RegionOne) in Keystone"
    "$PY" "$ROOT/scripts/gonova-keystone.py" register-glance --auth-url "$KEYSTONE_URL" --admin-password "$KEYSTONE_ADMIN_PASSWORD" \
      --glance-password "$GLANCE_PASSWORD" --image-url "$GLANCE_URL" --region RegionOne \
      >>"$GLANCE_HOME/manage.log" 2>&1 || die "registering glance in Keystone failed; see $GLANCE_HOME/manage.log"
    touch "$GLANCE_HOME/registered"
    glance_setup
    if answers "$GLANCE_PORT" && ! glance_ours_running; then
      glance_stop_packaged
      if answers "$GLANCE_PORT"; then
        die "port $GLANCE_PORT is taken by something that is not gonova's glance-api (no live pid in $GLANCE_HOME/glance-api.pid); stop it or set GLANCE_PORT"
      fi
    fi
    if glance_ours_running && ! glance_conf_current; then glance_stop_ours; fi
    glance_ours_running || glance_start
  fi
  exec 9>&-
  log "Glance answers on $GLANCE_URL (state in $GLANCE_HOME)"
}

ensure_tools() {
  # psql / pg_isready help this script; the tests themselves only need TCP.
  if ! command -v psql >/dev/null; then apt_install postgresql-client || true; fi
  if ! command -v curl >/dev/null; then apt_install curl ca-certificates || true; fi
}

ensure_tools
ensure_postgres
ensure_rabbit
ensure_python_oslo
ensure_python_module oslo_versionedobjects python3-oslo.versionedobjects
ensure_python_module oslo_policy python3-oslo.policy
ensure_python_module 'nova.objects, nova.policies' python3-nova
ensure_promtool
ensure_memcached
ensure_keystone
ensure_python_module 'tempest.lib.api_schema.response.compute.v2_1.servers, jsonschema' python3-tempest
ensure_glance
