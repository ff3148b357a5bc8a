# A training worker (Celery). Build from the repository root:
#   docker build -f docker/worker.Dockerfile .                          # CPU
#   docker build -f docker/worker.Dockerfile \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .   # NVIDIA GPU
# (docker-compose.gpu.yml passes the GPU arguments.)
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MLFLOW_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    DEBIAN_FRONTEND=noninteractive PATH=/opt/venv/bin:$PATH
# CUDA base images bring no Python; the python:* images do.
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install torch==2.13.0 --index-url "$TORCH_INDEX_URL"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && useradd --create-home --uid 10001 cc \
    && mkdir -p /var/lib/custom-classifier && chown cc /var/lib/custom-classifier
USER cc
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
    CMD custom-classifier worker --ping
CMD ["custom-classifier", "worker"]
