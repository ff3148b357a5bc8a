#!/bin/sh
# `redis-server ARGS`: reachable from the other containers, data in /data (as the official image).
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server --protected-mode no --bind 0.0.0.0 --dir /data "$@"
fi
exec "$@"
