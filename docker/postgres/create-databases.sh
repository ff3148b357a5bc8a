#!/bin/bash
# Runs once, when the PostgreSQL volume is empty: creates the databases named in
# CC_EXTRA_DATABASES (space separated) besides POSTGRES_DB, owned by POSTGRES_USER.
set -euo pipefail
for name in ${CC_EXTRA_DATABASES:-}; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE \"$name\" OWNER \"$POSTGRES_USER\""
done
