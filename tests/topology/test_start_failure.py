"""A topology that fails to start leaves nothing behind: no process, no database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from support import topology as topology_module
from support.topology import (
    POSTGRES_SERVER,
    Topology,
    TopologyOptions,
    TopologyUnavailableError,
    missing_requirements,
    running_topology,
)

pytestmark = pytest.mark.topology


def test_a_failure_while_starting_stops_what_was_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert missing_requirements() == []
    seen: dict[str, Any] = {}

    def nginx_fails(topology: Topology, options: TopologyOptions) -> None:
        seen["topology"], seen["databases"] = topology, list(topology.databases)
        raise RuntimeError("nginx could not start")

    monkeypatch.setattr(topology_module, "_start_nginx", nginx_fails)
    options = TopologyOptions(api_replicas=1, workers=1)
    with (
        pytest.raises(RuntimeError, match="nginx could not start"),
        running_topology(tmp_path, options),
    ):
        pytest.fail("the topology must not start")

    services = seen["topology"].services
    assert sorted(services) == ["api1", "mlflow", "redis", "worker1"]
    for service in services.values():
        assert not service.alive()
        with pytest.raises(ProcessLookupError):
            os.killpg(service.pid, 0)  # nor any child left in its process group
    assert len(seen["databases"]) == 4
    server = create_engine(POSTGRES_SERVER)
    with server.connect() as connection:
        names = connection.execute(text("SELECT datname FROM pg_database")).scalars().all()
    server.dispose()
    assert not set(seen["databases"]) & set(names)


def test_a_missing_system_component_is_named_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topology_module, "SYSTEM_MIME_TYPES", tmp_path / "no-mime.types")
    monkeypatch.setattr(topology_module, "_start_redis", _must_not_run)
    monkeypatch.setattr(topology_module, "_create_database", _must_not_run)
    with pytest.raises(TopologyUnavailableError) as raised, running_topology(tmp_path):
        pytest.fail("the topology must not start")
    message = str(raised.value)
    assert f"{tmp_path / 'no-mime.types'} (Debian package nginx-common)" in message
    assert "make test" in message
    assert list(tmp_path.iterdir()) == []


def _must_not_run(*args: object) -> None:
    raise AssertionError("nothing may start when a requirement is missing")
