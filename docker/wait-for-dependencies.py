#!/usr/bin/env python3
"""Wait until the services named by environment variables answer, then run a command.

    wait-for-dependencies CC_DATABASE_URL CC_BROKER_URL [-- command ...]

Each argument names an environment variable holding a URL: PostgreSQL (a real connection),
Redis (PING), AMQP (TCP) or HTTP (any answer). Unset variables and local URLs (SQLite, a path)
are skipped. Compose starts a container before its dependencies are ready (podman-compose does
not wait for `service_healthy`, Docker Compose does not on restarts), so the images start
through this script: one clear log line while a dependency is down, instead of a crash and a
restart loop. It waits as long as it takes; CC_WAIT_LOG_SECONDS sets how often it says so.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

RETRY_SECONDS = 2.0
TIMEOUT_SECONDS = 5.0


def check_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "", 1), connect_timeout=int(TIMEOUT_SECONDS)):
        pass


def check_redis(url: str) -> None:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or 6379), TIMEOUT_SECONDS) as sock:
        sock.sendall(b"PING\r\n")
        answer = sock.recv(64)
    # -NOAUTH: up, with a password the client will send. -LOADING: up, not ready yet.
    if not (answer.startswith(b"+PONG") or answer.startswith(b"-NOAUTH")):
        raise ConnectionError(answer.decode(errors="replace").strip() or "no answer to PING")


def check_tcp(url: str, default_port: int) -> None:
    parts = urlsplit(url)
    socket.create_connection((parts.hostname, parts.port or default_port), TIMEOUT_SECONDS).close()


def check_http(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS).close()
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise


def checker(url: str) -> Callable[[str], None] | None:
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme in {"postgresql", "postgres"}:
        return check_postgres
    if scheme in {"redis", "rediss"}:
        return check_redis
    if scheme in {"amqp", "amqps", "pyamqp"}:
        return lambda u: check_tcp(u, 5672)
    if scheme in {"http", "https"}:
        return check_http
    return None  # SQLite, a file path, memory://: nothing to wait for


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def reason(error: BaseException) -> str:
    """The first line of the error ("... failed: Connection refused"), without the hints."""
    text = str(error).strip().splitlines()
    return text[0].strip() if text else type(error).__name__


def wait_for(name: str, url: str, log_every: float) -> None:
    check = checker(url)
    if check is None:
        return
    started = last_log = time.monotonic()
    logged = False
    while True:
        try:
            check(url)
        except Exception as error:  # noqa: BLE001 - any failure means: not there yet
            now = time.monotonic()
            if not logged or now - last_log >= log_every:
                print(
                    f"waiting for {name} ({where(url)}): {reason(error)}; retrying every "
                    f"{RETRY_SECONDS:.0f} s ({now - started:.0f} s so far)",
                    file=sys.stderr,
                    flush=True,
                )
                logged, last_log = True, now
            time.sleep(RETRY_SECONDS)
            continue
        if logged:
            waited = time.monotonic() - started
            print(f"{name} ({where(url)}) answers after {waited:.0f} s", file=sys.stderr, flush=True)
        return


def main(argv: list[str]) -> None:
    names, command = argv, []
    if "--" in argv:
        split = argv.index("--")
        names, command = argv[:split], argv[split + 1 :]
    log_every = float(os.environ.get("CC_WAIT_LOG_SECONDS", "15"))
    for name in names:
        if url := os.environ.get(name, "").strip():
            wait_for(name, url, log_every)
    if command:
        os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
