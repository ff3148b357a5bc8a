# Test-only stand-in for postgres:16-bookworm, which cannot be pulled here: Debian's PostgreSQL 15
# with the official image's interface as far as docker/docker-compose.yml uses it (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, /docker-entrypoint-initdb.d/ on an empty data folder,
# pg_isready, SIGINT to stop). Users run the official image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && pg_dropcluster 15 main \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
