# The MLflow tracking server with basic authentication, PostgreSQL and S3-compatible storage.
# Build from the repository root: docker build -f docker/mlflow.Dockerfile -t custom-classifier-mlflow .
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MLFLOW_DISABLE_TELEMETRY=true
# Versions match pyproject.toml; boto3 for an S3-compatible artifact store (s3://...).
RUN pip install "mlflow[auth]==3.17.2" "psycopg[binary]==3.3.9" "boto3==1.43.107"

RUN useradd --create-home --uid 10001 mlflow \
    && mkdir -p /mlartifacts && chown mlflow /mlartifacts
COPY --chmod=0755 docker/wait-for-dependencies.py /usr/local/bin/wait-for-dependencies
COPY --chmod=0755 docker/mlflow/entrypoint.sh /usr/local/bin/mlflow-entrypoint
USER mlflow
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/mlflow/health', timeout=4)"
ENTRYPOINT ["/usr/local/bin/mlflow-entrypoint"]
