# A training worker (Celery). Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t custom-classifier-worker .      # CPU
#   docker build -f docker/worker.Dockerfile \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .   # NVIDIA GPU
# (docker-compose.gpu.yml passes the GPU arguments.) Everything up to the last lines is the same
# as in api.Dockerfile, so that the two images share their layers: keep them in step.
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

# The worker (not the API) from here on.
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
    CMD custom-classifier worker --ping
# Started before its dependencies answer, it says so and waits instead of exiting.
ENTRYPOINT ["wait-for-dependencies", "CC_DATABASE_URL", "CC_BROKER_URL", "CC_MLFLOW_TRACKING_URI", "--"]
CMD ["custom-classifier", "worker"]
