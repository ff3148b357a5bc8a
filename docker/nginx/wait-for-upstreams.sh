#!/bin/sh
# Run by the nginx image before NGINX starts (mounted into /docker-entrypoint.d/). NGINX resolves
# its upstreams once, at start, and exits when one has no address yet (compose may start it
# before the API and MLflow): wait until each name resolves, saying so every 15 s.
set -eu
for host in ${CC_NGINX_UPSTREAMS:-api mlflow}; do
  waited=0
  until getent hosts "$host" >/dev/null; do
    if [ $((waited % 15)) -eq 0 ]; then
      echo "$0: waiting for $host to resolve (${waited} s so far)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
done
