# The API (also serves the UI). Build from the repository root (scripts/build-images.sh builds
# all three images with Docker or podman):
#   docker build -f docker/api.Dockerfile -t custom-classifier-api .
# Everything up to the last lines is the same as in worker.Dockerfile, so that the two images
# share their layers (~2.3 GB stored once): keep them in step.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# pyproject.toml's dependencies as requirement files: the layers that install them are rebuilt
# when the dependencies change, not when the code or the tool settings do.
FROM ${BASE_IMAGE} AS requirements
COPY docker/requirements-from-pyproject.sh pyproject.toml /tmp/
RUN sh /tmp/requirements-from-pyproject.sh /tmp/pyproject.toml > /requirements.txt \
    && grep '^torch==' /requirements.txt > /torch.txt

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MLFLOW_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    DEBIAN_FRONTEND=noninteractive PATH=/opt/venv/bin:$PATH \
    CC_HOME=/var/lib/custom-classifier
# CUDA base images bring no Python; the python:* images do.
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv \
    && useradd --create-home --uid 10001 cc \
    && mkdir -p /var/lib/custom-classifier && chown cc /var/lib/custom-classifier
# The PyTorch CPU index by default (docker-compose.gpu.yml passes a CUDA one); where it does not
# answer, torch comes from the index pip is configured with (docker/install-torch.sh).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY --chmod=0755 docker/install-torch.sh /usr/local/bin/install-torch
COPY --from=requirements /torch.txt /tmp/torch.txt
RUN install-torch "$(sed 's/^torch==//' /tmp/torch.txt)"
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps . && rm -rf /app/build
COPY --chmod=0755 docker/wait-for-dependencies.py /usr/local/bin/wait-for-dependencies
USER cc

# The API (not the worker) from here on.
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# Started before PostgreSQL answers, it says so and waits instead of exiting (migrations first).
ENTRYPOINT ["wait-for-dependencies", "CC_DATABASE_URL", "CC_ADMIN_DATABASE_URL", "--"]
CMD ["custom-classifier", "serve", "--host", "0.0.0.0", "--port", "8000"]
