# A stand-in for python:3.11-slim-bookworm where no image can be pulled (no registry, or none
# reachable): scripts/build-images.sh --debian-base makes a Debian bookworm with debootstrap,
# imports it as DEBIAN_IMAGE, and builds this on it. Debian's Python 3.11 in a venv first on
# PATH, so that `pip install` in the project's Dockerfiles behaves as in the official image.
ARG DEBIAN_IMAGE=localhost/custom-classifier-debian:bookworm
FROM ${DEBIAN_IMAGE}
ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates netbase tzdata \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
    && python3 -m venv /opt/python
ENV PATH=/opt/python/bin:$PATH
CMD ["python3"]
