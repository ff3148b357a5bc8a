"""The production topology as real processes on loopback: what `docker/docker-compose.yml`
runs, without a Docker engine. Used by the topology test and the topology benchmark.

PostgreSQL must already run (throwaway databases are created and dropped); everything else is
started here on free ports: Redis, the MLflow server (through `docker/mlflow/entrypoint.sh`,
basic authentication on), Celery workers, API replicas (uvicorn) and NGINX with the
repository's configuration. Every process runs in its own session and is stopped by its id.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from custom_classifier.processes import free_ports, stop_processes
from custom_classifier.training.process_environment import SERVING_PROCESS_ENVIRONMENT
from support.nginx import REPOSITORY, SYSTEM_MIME_TYPES, render_nginx_config

logger = logging.getLogger(__name__)

POSTGRES_SERVER = os.environ.get(
    "CC_TOPOLOGY_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SERVICE_ACCOUNT = "cc-service"
OPERATOR = "operator"
DATABASES = ("metadata", "admin", "mlflow", "mlflow_auth")


@dataclass(frozen=True)
class TopologyOptions:
    api_replicas: int = 2
    workers: int = 2
    base_model: str | None = None
    min_docs_per_label: int = 5
    visibility_timeout: int = 8
    """Redis redelivers a dead worker's message after this many seconds."""
    access_log: bool = True


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Topology:
    """A started topology: where everything listens, and how to reach it."""

    root: Path
    environment: dict[str, str]
    nginx_port: int
    mlflow_port: int
    api_ports: list[int]
    redis_port: int
    admin_key: str = ""
    services: dict[str, Service] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The only address a user needs: NGINX."""
        return f"http://127.0.0.1:{self.nginx_port}"

    def workers(self) -> list[Service]:
        return [s for name, s in self.services.items() if name.startswith("worker")]

    def client(self, key: str | None = None, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0, **options)  # type: ignore[arg-type]

    def logs(self) -> str:
        return "\n\n".join(f"--- {name} ---\n{s.tail()}" for name, s in self.services.items())


INSTALL_HINT = "`make test` installs and starts them (scripts/install-system-packages.sh)"


class TopologyUnavailableError(RuntimeError):
    """The system lacks something the topology needs; raised before anything is started."""


def missing_requirements() -> list[str]:
    """What the topology needs from this system and does not find here (empty: all there)."""
    missing = []
    if _program("nginx") is None:
        missing.append("nginx (Debian package nginx)")
    elif not SYSTEM_MIME_TYPES.is_file():
        missing.append(f"{SYSTEM_MIME_TYPES} (Debian package nginx-common)")
    if _program("redis-server") is None:
        missing.append("redis-server (Debian package redis-server)")
    if (error := _postgres_error()) is not None:
        missing.append(f"a PostgreSQL server at {_postgres_address()} ({error})")
    return missing


def _program(name: str) -> str | None:
    path = shutil.which(name) or f"/usr/sbin/{name}"
    return path if os.access(path, os.X_OK) else None


def _postgres_address() -> str:
    return POSTGRES_SERVER.split("@", 1)[-1].rsplit("/", 1)[0]


def _postgres_error() -> str | None:
    server = create_engine(POSTGRES_SERVER, connect_args={"connect_timeout": 5})
    try:
        with server.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any reason it cannot be used is reported
        return str(error).splitlines()[0]
    finally:
        server.dispose()
    return None


@contextlib.contextmanager
def running_topology(root: Path, options: TopologyOptions | None = None) -> Iterator[Topology]:
    """Start the topology under `root`; on exit stop every process and drop the databases.

    Raises `TopologyUnavailableError` before starting anything when `missing_requirements()`
    finds something missing; a failure while starting stops what was already started.
    """
    if missing := missing_requirements():
        raise TopologyUnavailableError(f"missing: {'; '.join(missing)}. {INSTALL_HINT}")
    options = options or TopologyOptions()
    nginx_port, mlflow_port, redis_port, *api_ports = free_ports(3 + options.api_replicas)
    topology = Topology(root, {}, nginx_port, mlflow_port, api_ports, redis_port)
    try:
        start(topology, options)
        yield topology
    finally:
        stop(topology)


def start(topology: Topology, options: TopologyOptions) -> None:
    began = time.monotonic()
    root = topology.root
    (root / "logs").mkdir(parents=True, exist_ok=True)
    prefix = f"cc_topo_{uuid.uuid4().hex[:10]}"
    urls = {name: _create_database(topology, f"{prefix}_{name}") for name in DATABASES}
    service_password = secrets.token_urlsafe(24)
    topology.environment = _app_environment(topology, options, urls, service_password)
    _start_redis(topology)
    _start_mlflow(topology, urls, service_password)
    topology.admin_key = _create_operator(topology)
    for index in range(options.workers):
        _start_worker(topology, f"worker{index + 1}")
    for index, port in enumerate(topology.api_ports):
        _spawn(topology, f"api{index + 1}", _api_command(port), topology.environment)
    _start_nginx(topology, options)
    _wait_until_ready(topology, began)


def _app_environment(
    topology: Topology, options: TopologyOptions, urls: dict[str, str], service_password: str
) -> dict[str, str]:
    mlflow = f"http://127.0.0.1:{topology.mlflow_port}/mlflow"
    environment = {
        "CC_ENVIRONMENT": "production",
        "CC_SECRET_KEY": secrets.token_urlsafe(48),
        "CC_HOME": str(topology.root / "home"),
        "CC_DATABASE_URL": urls["metadata"],
        "CC_ADMIN_DATABASE_URL": urls["admin"],
        "CC_JOB_BACKEND": "celery",
        "CC_BROKER_URL": f"redis://127.0.0.1:{topology.redis_port}/0",
        "CC_BROKER_VISIBILITY_TIMEOUT": str(options.visibility_timeout),
        "CC_MLFLOW_TRACKING_URI": mlflow,
        "CC_MLFLOW_USERNAME": SERVICE_ACCOUNT,
        "CC_MLFLOW_PASSWORD": service_password,
        "CC_MLFLOW_PUBLIC_URL": f"{topology.url}/mlflow",
        "CC_MIN_DOCS_PER_LABEL": str(options.min_docs_per_label),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "HF_HUB_OFFLINE": "1",
        **SERVING_PROCESS_ENVIRONMENT,
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if options.base_model:
        environment["CC_BASE_MODEL"] = options.base_model
    return {**_inherited_environment(), **environment}


def _inherited_environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}


def _create_database(topology: Topology, name: str) -> str:
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()
    topology.databases.append(name)
    host = POSTGRES_SERVER.split("@", 1)[1].rsplit("/", 1)[0]
    user = POSTGRES_SERVER.split("://", 1)[1].split("@", 1)[0]
    return f"postgresql+psycopg://{user}@{host}/{name}"


def _drop_databases(topology: Topology) -> None:
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            for name in topology.databases:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()
    topology.databases.clear()


def _spawn(topology: Topology, name: str, command: list[str], env: dict[str, str]) -> Service:
    log = topology.root / "logs" / f"{name}.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=topology.root,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )
    service = Service(name, process, log)
    topology.services[name] = service
    return service


def _start_redis(topology: Topology) -> None:
    redis = _program("redis-server") or "redis-server"
    command = [redis, "--bind", "127.0.0.1", "--port", str(topology.redis_port)]
    command += ["--save", "", "--appendonly", "no", "--dir", str(topology.root)]
    _spawn(topology, "redis", command, _inherited_environment())


def _start_mlflow(topology: Topology, urls: dict[str, str], service_password: str) -> None:
    environment = {
        **_inherited_environment(),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "MLFLOW_BACKEND_STORE_URI": urls["mlflow"],
        "MLFLOW_AUTH_DATABASE_URI": urls["mlflow_auth"],
        "MLFLOW_AUTH_ADMIN_USERNAME": SERVICE_ACCOUNT,
        "MLFLOW_AUTH_ADMIN_PASSWORD": service_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_urlsafe(32),
        "MLFLOW_ARTIFACTS_DESTINATION": str(topology.root / "mlartifacts"),
        "MLFLOW_AUTH_CONFIG_DIR": str(topology.root / "mlflow-auth"),
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(topology.mlflow_port),
        "MLFLOW_WORKERS": "1",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    entrypoint = REPOSITORY / "docker" / "mlflow" / "entrypoint.sh"
    _spawn(topology, "mlflow", ["sh", str(entrypoint)], environment)


def _cli() -> list[str]:
    return [sys.executable, "-m", "custom_classifier.cli"]


def _create_operator(topology: Topology) -> str:
    """The first admin, created with the CLI as an operator would (runs the migrations)."""
    command = [*_cli(), "users", "create", OPERATOR, "--admin"]
    result = subprocess.run(
        command, env=topology.environment, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not create the operator: {result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def _start_worker(topology: Topology, name: str) -> Service:
    command = [*_cli(), "worker", f"--hostname={name}@%h", "--loglevel=info"]
    return _spawn(topology, name, command, topology.environment)


def _api_command(port: int) -> list[str]:
    return [*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]


def _start_nginx(topology: Topology, options: TopologyOptions) -> None:
    layout = render_nginx_config(
        topology.root / "nginx",
        listen_port=topology.nginx_port,
        api_ports=topology.api_ports,
        mlflow_port=topology.mlflow_port,
        access_log=options.access_log,
    )
    nginx = _program("nginx") or "nginx"
    _spawn(topology, "nginx", layout.command(nginx), _inherited_environment())


def _wait_until_ready(topology: Topology, began: float) -> None:
    checks: dict[str, Callable[[], bool]] = {
        "mlflow": lambda: _ok(f"http://127.0.0.1:{topology.mlflow_port}/mlflow/health"),
        **{
            f"api{i + 1}": functools.partial(_ok, f"http://127.0.0.1:{port}/readyz")
            for i, port in enumerate(topology.api_ports)
        },
        "nginx": lambda: _ok(f"{topology.url}/healthz"),
        "workers": lambda: _workers_answer(topology),
    }
    deadline = time.monotonic() + 180
    pending = dict(checks)
    while pending:
        for name, check in list(pending.items()):
            if check():
                topology.timings[f"{name}_ready_seconds"] = time.monotonic() - began
                del pending[name]
        dead = [s.name for s in topology.services.values() if not s.alive()]
        if dead or time.monotonic() > deadline:
            why = f"exited: {dead}" if dead else f"not ready after 180 s: {sorted(pending)}"
            raise RuntimeError(f"the topology did not start ({why})\n{topology.logs()}")
        time.sleep(0.3)
    topology.timings["ready_seconds"] = time.monotonic() - began


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _workers_answer(topology: Topology) -> bool:
    """Every worker is connected to the broker and answers a ping."""
    from celery import Celery

    app = Celery(broker=topology.environment["CC_BROKER_URL"], set_as_current=False)
    try:
        replies = app.control.ping(timeout=1.0)
    except Exception:  # noqa: BLE001 - the broker may not accept connections yet
        return False
    finally:
        app.close()
    names = {name.split("@")[0] for reply in replies for name in reply}
    return {w.name for w in topology.workers()} <= names


def kill(service: Service) -> None:
    """SIGKILL the service's whole process group (a machine that dies), by its id."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.pid, signal.SIGKILL)
    service.process.wait(timeout=30)


def stop(topology: Topology) -> None:
    """Stop every process started here (SIGTERM, then SIGKILL), then drop the databases."""
    services = reversed(list(topology.services.values()))
    stop_processes([service.process for service in services], grace=15, group=True)
    if topology.databases:
        _drop_databases(topology)
