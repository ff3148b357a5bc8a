# Test-only stand-in for nginx:1.27-bookworm, which cannot be pulled here: Debian's NGINX and
# curl (the compose health check), and the official image's start: the executable
# /docker-entrypoint.d/*.sh scripts, then the command. Users run the official image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx curl \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/*
COPY --chmod=0755 nginx-entrypoint.sh /docker-entrypoint.sh
STOPSIGNAL SIGQUIT
EXPOSE 80
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["nginx", "-g", "daemon off;"]
