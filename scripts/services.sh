#!/usr/bin/env bash
# Make sure the real parts gonova's tests use answer on loopback:
#   PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth on loopback),
#   RabbitMQ on 127.0.0.1:5672 (guest/guest),
#   Debian's python3-oslo.messaging under /usr/bin/python3 (the RPC interop peer),
#   Debian's python3-oslo.versionedobjects, python3-oslo.policy and python3-nova
#   (the referees of pkg/ovo, of pkg/wsgi/policy and of nova's payloads and rules),
#   promtool (checks and unit-tests deploy/prometheus): the one on PATH, or the
#   binary alone taken from Debian's prometheus package into .tools/bin (the
#   package itself would install and start a Prometheus server).
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
    apt-get update -qq >/dev/null
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

ensure_tools() {
  # psql / pg_isready help this script; the tests themselves only need TCP.
  if ! command -v psql >/dev/null; then apt_install postgresql-client || true; fi
}

ensure_tools
ensure_postgres
ensure_rabbit
ensure_python_oslo
ensure_python_module oslo_versionedobjects python3-oslo.versionedobjects
ensure_python_module oslo_policy python3-oslo.policy
ensure_python_module 'nova.objects, nova.policies' python3-nova
ensure_promtool
