#!/bin/sh
# Start the MLflow tracking server: PostgreSQL backend store, artifacts proxied by the server,
# basic authentication with its own database, UI and REST API under /mlflow.
#
# The topology test runs this same script on loopback (tests/topology/harness.py).
set -eu

: "${MLFLOW_BACKEND_STORE_URI:?set it to postgresql+psycopg://USER:PASSWORD@HOST:5432/mlflow}"
: "${MLFLOW_AUTH_DATABASE_URI:?set it to postgresql+psycopg://USER:PASSWORD@HOST:5432/mlflow_auth}"
: "${MLFLOW_AUTH_ADMIN_USERNAME:?set it to the service account name (CC_MLFLOW_USERNAME)}"
: "${MLFLOW_AUTH_ADMIN_PASSWORD:?set it to the service account password (CC_MLFLOW_PASSWORD)}"
: "${MLFLOW_FLASK_SERVER_SECRET_KEY:?set it to a long random secret (CSRF protection)}"
export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"

# Started before PostgreSQL answers (compose does not always wait), say so and wait rather than
# exit. The image has the script; the loopback topology test starts the databases first.
if command -v wait-for-dependencies >/dev/null 2>&1; then
  wait-for-dependencies MLFLOW_BACKEND_STORE_URI MLFLOW_AUTH_DATABASE_URI
fi

config_dir="${MLFLOW_AUTH_CONFIG_DIR:-/tmp/mlflow-auth}"
mkdir -p "$config_dir"
# configparser reads '%' as interpolation: a URL-encoded password must be written as '%%'.
auth_uri=$(printf '%s' "$MLFLOW_AUTH_DATABASE_URI" | sed 's/%/%%/g')
umask 077
cat > "$config_dir/basic_auth.ini" <<INI
[mlflow]
# Users see nothing unless granted: the API grants each user their own experiment and models.
default_permission = NO_PERMISSIONS
database_uri = $auth_uri
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
INI
export MLFLOW_AUTH_CONFIG_PATH="$config_dir/basic_auth.ini"

exec mlflow server \
  --app-name basic-auth \
  --backend-store-uri "$MLFLOW_BACKEND_STORE_URI" \
  --serve-artifacts \
  --artifacts-destination "${MLFLOW_ARTIFACTS_DESTINATION:-/mlartifacts}" \
  --static-prefix /mlflow \
  --host "${MLFLOW_HOST:-0.0.0.0}" \
  --port "${MLFLOW_PORT:-5000}" \
  --workers "${MLFLOW_WORKERS:-2}" \
  "$@"
