#!/usr/bin/env bash
# What the test suite needs from the system, set up idempotently before `make test` runs anything:
# Debian's chromium (browser tests), nginx (topology and NGINX configuration tests),
# docker-compose (static check of the compose files), podman with runc, netavark, aardvark-dns,
# iptables and debootstrap (the production images, built and run by tests/images/), and
# PostgreSQL, Redis and RabbitMQ answering on their default loopback ports (installed when
# absent, started when down).
#
# All there: a few checks, no package manager call. As root with apt-get: installs and starts
# what is missing. Otherwise: stops with one message that lists what is missing and the commands
# that fix it, and exit status 1.
#
# Overridable for the script's own tests: CC_SETUP_PATH (where to look for programs),
# CC_SETUP_NGINX_MIME_TYPES, CC_SETUP_PODMAN_HELPERS (netavark's folder),
# CC_SETUP_{POSTGRES,REDIS,RABBITMQ}_PORT, CC_SETUP_WAIT_SECONDS.
set -euo pipefail

SEARCH_PATH=${CC_SETUP_PATH:-$PATH:/usr/local/sbin:/usr/sbin:/sbin}
POSTGRES_PORT=${CC_SETUP_POSTGRES_PORT:-5432}
REDIS_PORT=${CC_SETUP_REDIS_PORT:-6379}
RABBITMQ_PORT=${CC_SETUP_RABBITMQ_PORT:-5672}
WAIT_SECONDS=${CC_SETUP_WAIT_SECONDS:-60}
NGINX_MIME_TYPES=${CC_SETUP_NGINX_MIME_TYPES:-/etc/nginx/mime.types}
PODMAN_HELPERS=${CC_SETUP_PODMAN_HELPERS:-/usr/lib/podman}

has() { PATH=$SEARCH_PATH command -v "$1" >/dev/null 2>&1; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
postgres_clusters() { ls /etc/postgresql 2>/dev/null | tr '\n' ' '; }

postgres_start() {
  local version
  for version in $(postgres_clusters); do
    PATH=$SEARCH_PATH pg_ctlcluster --skip-systemctl-redirect "$version" main start
  done
}
redis_start() {
  PATH=$SEARCH_PATH redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
    --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
rabbitmq_start() { PATH=$SEARCH_PATH rabbitmq-server -detached; }

# Packages to install: a program (or file) that tells the package is there.
missing_packages() {
  local packages=()
  has chromium || packages+=(chromium)
  { has nginx && [ -f "$NGINX_MIME_TYPES" ]; } || packages+=(nginx)
  has docker-compose || packages+=(docker-compose)
  # Rootful podman as docker/podman/containers.conf sets it up: runc, netavark's DNS by name.
  local program
  for program in podman runc iptables debootstrap; do
    has "$program" || packages+=("$program")
  done
  for program in netavark aardvark-dns; do
    [ -x "$PODMAN_HELPERS/$program" ] || packages+=("$program")
  done
  # A server already answering is enough; otherwise it must be installed to be started here.
  answers "$POSTGRES_PORT" || { has pg_ctlcluster && [ -n "$(postgres_clusters)" ]; } ||
    packages+=(postgresql)
  has redis-server || packages+=(redis-server) # the topology test starts its own Redis too
  answers "$RABBITMQ_PORT" || has rabbitmq-server || packages+=(rabbitmq-server)
  echo "${packages[@]}"
}

# Services down: "name|start function|port".
down_services() {
  answers "$POSTGRES_PORT" || echo "PostgreSQL|postgres_start|$POSTGRES_PORT"
  answers "$REDIS_PORT" || echo "Redis|redis_start|$REDIS_PORT"
  answers "$RABBITMQ_PORT" || echo "RabbitMQ|rabbitmq_start|$RABBITMQ_PORT"
}

start_command() {  # what to tell a user who must start a service by hand
  case $1 in
    postgres_start) echo "pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" ;;
    redis_start) echo "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $REDIS_PORT --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log" ;;
    rabbitmq_start) echo "rabbitmq-server -detached" ;;
  esac
}

refuse() {  # one message: what is missing and the commands that fix it; then stop
  local packages=$1 services=$2 sudo=""
  is_root || sudo="sudo "
  {
    echo "make test cannot start: the tests need system components that are missing here."
    if [ -n "$packages" ]; then
      echo "  missing Debian packages: $packages"
      echo "  install them:  ${sudo}apt-get update && ${sudo}apt-get install -y $packages"
    fi
    if [ -n "$services" ]; then
      local name starter
      while IFS='|' read -r name starter _; do
        [ -n "$name" ] || continue
        echo "  $name is not running; start it:  ${sudo}$(start_command "$starter")"
      done <<<"$services"
    fi
    echo "  (as root with apt-get, make test does this itself)"
  } >&2
  exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# A PostgreSQL installed here for the tests lets local users in without a password on loopback.
trust_loopback() {
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    grep -q "^host all all 127.0.0.1/32 trust" "$hba" && continue
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    echo "$hba: trust on loopback for the tests"
  done
}

install_packages() {
  local packages=$1
  echo "installing Debian packages: $packages"
  export DEBIAN_FRONTEND=noninteractive
  PATH=$SEARCH_PATH apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  PATH=$SEARCH_PATH apt-get install -y -qq $packages >/dev/null
  case " $packages " in *" postgresql "*) trust_loopback ;; esac
}

wait_for_port() {  # name, port
  local deadline=$((SECONDS + WAIT_SECONDS))
  until answers "$2"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$1 was started but does not answer on 127.0.0.1:$2 after ${WAIT_SECONDS} s" >&2
      exit 1
    fi
    sleep 0.5
  done
}

start_services() {
  local services=$1 name starter port
  while IFS='|' read -r name starter port; do
    [ -n "$name" ] || continue
    echo "starting $name"
    "$starter" >/dev/null || { echo "could not start $name: $(start_command "$starter")" >&2; exit 1; }
  done <<<"$services"
  while IFS='|' read -r name starter port; do
    [ -n "$name" ] || continue
    wait_for_port "$name" "$port"
  done <<<"$services"
}

# The tests connect as postgres@127.0.0.1 without a password (conftest.py, the topology).
check_postgres_login() {
  has psql || return 0
  local error
  if ! error=$(PGCONNECT_TIMEOUT=5 PATH=$SEARCH_PATH psql -w -h 127.0.0.1 -p "$POSTGRES_PORT" \
    -U postgres -d postgres -Atqc "select 1" 2>&1 >/dev/null); then
    echo "PostgreSQL on 127.0.0.1:$POSTGRES_PORT does not let the user postgres in: $error" >&2
    echo "  the tests need it without a password: put 'host all all 127.0.0.1/32 trust'" \
      "first in pg_hba.conf, then reload PostgreSQL" >&2
    exit 1
  fi
}

packages=$(missing_packages)
services=$(down_services)
if [ -n "$packages" ] || [ -n "$services" ]; then
  if ! is_root || { [ -n "$packages" ] && ! has apt-get; }; then
    refuse "$packages" "$services"
  fi
  if [ -n "$packages" ]; then
    install_packages "$packages"
    still=$(missing_packages)
    if [ -n "$still" ]; then
      echo "apt-get installed $packages, but these are still not found: $still" \
        "(looked in $SEARCH_PATH and $NGINX_MIME_TYPES)" >&2
      exit 1
    fi
  fi
  start_services "$(down_services)"
fi
check_postgres_login
