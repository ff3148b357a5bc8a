#!/usr/bin/env bash
# Build the production images from docker/: custom-classifier-api, -worker and -mlflow (:latest,
# the names docker/docker-compose.yml runs), with Docker where an engine answers, else podman.
#
#   scripts/build-images.sh                    # on python:3.11-slim-bookworm (pulled)
#   scripts/build-images.sh --debian-base      # no registry: a Debian base made here (debootstrap)
#   scripts/build-images.sh --base IMAGE       # any image with Python 3.11 and pip
#   scripts/build-images.sh --stand-ins        # also the test suite's PostgreSQL, Redis and NGINX
#   ENGINE=podman scripts/build-images.sh      # choose the engine
#
# Layers are cached: a second build with nothing changed takes seconds, a code change rebuilds
# only the last layers. With podman, this machine's pip configuration (index, certificates, wheel
# folders, constraints) is mounted into the build steps, never copied into an image
# (scripts/pip-config-for-builds.py). podman runs with docker/podman/containers.conf unless
# CONTAINERS_CONF says otherwise: runc, cgroupfs, no systemd.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
DEBIAN_IMAGE=localhost/custom-classifier-debian:bookworm
LOCAL_BASE=localhost/custom-classifier-python:3.11-bookworm
STAND_INS="$ROOT/tests/images/stand-ins"

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

base=python:3.11-slim-bookworm debian_base=false stand_ins=false
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=${2:?--base needs an image}; shift ;;
    --debian-base) debian_base=true ;;
    --stand-ins) stand_ins=true ;;
    -h | --help) usage ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
  shift
done

pick_engine() {
  if [ -n "${ENGINE:-}" ]; then echo "$ENGINE"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
  if command -v podman >/dev/null; then echo podman; return; fi
  echo "no container engine: install Docker (docker info must answer) or podman" \
    "(Debian: apt-get install podman buildah runc)" >&2
  exit 1
}
ENGINE=$(pick_engine)
if [ "$ENGINE" = podman ]; then
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/docker/podman/containers.conf}
  export BUILDAH_FORMAT=docker # keeps HEALTHCHECK (OCI image configs have none)
fi

build_options=()
if [ "$ENGINE" = podman ]; then
  pip_conf=$(mktemp)
  trap 'rm -f "$pip_conf"' EXIT
  mapfile -t build_options < <("$PYTHON" "$ROOT/scripts/pip-config-for-builds.py" "$pip_conf")
  build_options+=(--format docker)
fi

image_exists() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

# The configured Debian mirror (deb822 sources or sources.list), else Debian's own.
debian_mirror() {
  local uri
  uri=$(grep -hs -m1 -E '^URIs: *http' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true)
  [ -n "$uri" ] || uri=$(grep -hs -m1 -E '^deb +http' /etc/apt/sources.list | awk '{print $2}' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

make_debian_base() {
  if ! image_exists "$DEBIAN_IMAGE"; then
    command -v debootstrap >/dev/null || {
      echo "--debian-base needs debootstrap (Debian: apt-get install debootstrap), as root" >&2
      exit 1
    }
    local rootfs mirror
    rootfs=$(mktemp -d)
    mirror=$(debian_mirror)
    echo "== $DEBIAN_IMAGE: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
      tail -20 "$rootfs.log" >&2
      exit 1
    }
    tar -C "$rootfs" --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*' -c . |
      "$ENGINE" import - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
  fi
  build "$LOCAL_BASE" docker/local-python.Dockerfile "$ROOT" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
}

build() { # tag, Dockerfile, context, extra options
  local tag=$1 dockerfile=$2 context=$3 started=$SECONDS
  shift 3
  echo "== $tag ($ENGINE build -f $dockerfile)"
  "$ENGINE" build "${build_options[@]}" "$@" -f "$ROOT/$dockerfile" -t "$tag" "$context"
  echo "== $tag built in $((SECONDS - started)) s"
}

started=$SECONDS
if $debian_base; then
  make_debian_base
  base=$LOCAL_BASE
fi
for name in api worker mlflow; do
  build "custom-classifier-$name:latest" "docker/$name.Dockerfile" "$ROOT" \
    --build-arg "BASE_IMAGE=$base"
done
if $stand_ins; then
  for name in postgres redis nginx; do
    build "localhost/custom-classifier-test-$name:latest" \
      "tests/images/stand-ins/$name.Dockerfile" "$STAND_INS" --build-arg "BASE_IMAGE=$base"
  done
fi
echo "== built in $((SECONDS - started)) s with $ENGINE on $base"
"$ENGINE" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'custom-classifier' || true
