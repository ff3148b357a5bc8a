# Test-only stand-in for redis:7-bookworm, which cannot be pulled here: Debian's Redis, run from
# /data as the user redis and reachable from the other containers (no protected mode, as in the
# official image). Users run the official image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
COPY --chmod=0755 redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
