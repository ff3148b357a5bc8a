"""`scripts/install-system-packages.sh`, the set-up `make test` runs first, on a system of fakes.

Programs are looked up in a folder of our own (`CC_SETUP_PATH`), `id` and `apt-get` are fakes
that record their calls, and the services' ports are sockets this test listens on: nothing on
the real system is installed, started or even consulted.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-system-packages.sh"
PROGRAMS = ("chromium", "nginx", "docker-compose", "pg_ctlcluster", "redis-server")
PROGRAMS += ("rabbitmq-server", "podman", "runc", "iptables", "debootstrap")
PODMAN_HELPERS = ("netavark", "aardvark-dns")
SERVICES = ("POSTGRES", "REDIS", "RABBITMQ")
FAKE_APT = """#!/bin/sh
echo "$@" >> "{log}"
[ "$1" = install ] && for package in "$@"; do
  [ "$package" = nginx ] && printf '#!/bin/sh\\n' > "{bin}/nginx" && chmod +x "{bin}/nginx"
done
exit 0
"""


@dataclass
class FakeSystem:
    root: Path
    listening: dict[str, socket.socket] = field(default_factory=dict)
    stopped: dict[str, int] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def calls(self) -> Path:
        return self.root / "calls.log"

    def program(self, name: str, body: str = "") -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    def hide(self, name: str) -> None:
        (self.bin / name).unlink()

    def stop(self, service: str) -> int:
        """The service's port no longer answers (as a server that is down)."""
        port = self.port(service)
        self.listening.pop(service).close()
        self.stopped[service] = port
        return port

    def port(self, service: str) -> int:
        return int(self.listening[service].getsockname()[1])

    def run(self, *, uid: int) -> subprocess.CompletedProcess[str]:
        fake_id = self.root / "id-bin"
        fake_id.mkdir(exist_ok=True)
        (fake_id / "id").write_text(f"#!/bin/sh\necho {uid}\n")
        (fake_id / "id").chmod(0o755)
        environment = {
            "PATH": f"{fake_id}:/usr/bin:/bin",
            "CC_SETUP_PATH": str(self.bin),
            "CC_SETUP_NGINX_MIME_TYPES": str(self.root / "mime.types"),
            "CC_SETUP_PODMAN_HELPERS": str(self.bin),
            "CC_SETUP_WAIT_SECONDS": "1",
        }
        for service in SERVICES:
            port = self.port(service) if service in self.listening else self.stopped[service]
            environment[f"CC_SETUP_{service}_PORT"] = str(port)
        return subprocess.run(
            ["bash", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=60
        )

    def logged_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def system(tmp_path: Path) -> Iterator[FakeSystem]:
    """Every package installed and every service answering."""
    fake = FakeSystem(tmp_path)
    fake.bin.mkdir()
    for name in PROGRAMS + PODMAN_HELPERS:
        fake.program(name)
    (tmp_path / "mime.types").write_text("types {}\n")
    for service in SERVICES:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        fake.listening[service] = listener
    yield fake
    for listener in fake.listening.values():
        listener.close()


def test_nothing_to_do_when_everything_is_there(system: FakeSystem) -> None:
    system.program("apt-get", f'echo "$@" >> "{system.calls}"')
    result = system.run(uid=0)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert system.logged_calls() == []


def test_without_root_it_stops_with_one_message_naming_the_fix(system: FakeSystem) -> None:
    system.program("apt-get", f'echo "$@" >> "{system.calls}"')
    system.hide("nginx")
    system.hide("docker-compose")
    redis_port = system.stop("REDIS")
    result = system.run(uid=1000)
    assert result.returncode == 1
    assert result.stdout == ""
    message = result.stderr
    assert message.startswith("make test cannot start")
    assert "missing Debian packages: nginx docker-compose" in message
    assert "sudo apt-get update && sudo apt-get install -y nginx docker-compose" in message
    assert "Redis is not running; start it:  sudo redis-server --daemonize yes" in message
    assert f"--port {redis_port} " in message
    assert system.logged_calls() == []  # nothing was attempted


def test_a_missing_mime_types_file_counts_as_nginx_missing(system: FakeSystem) -> None:
    (system.root / "mime.types").unlink()
    result = system.run(uid=1000)
    assert result.returncode == 1
    assert "missing Debian packages: nginx" in result.stderr


def test_podman_and_its_network_helpers_count_as_packages(system: FakeSystem) -> None:
    system.hide("podman")
    system.hide("aardvark-dns")
    result = system.run(uid=1000)
    assert result.returncode == 1
    assert "missing Debian packages: podman aardvark-dns" in result.stderr


def test_root_without_apt_get_is_told_what_to_install(system: FakeSystem) -> None:
    system.hide("chromium")
    result = system.run(uid=0)
    assert result.returncode == 1
    assert "missing Debian packages: chromium" in result.stderr
    assert "apt-get install -y chromium" in result.stderr


def test_as_root_with_apt_get_it_installs_what_is_missing(system: FakeSystem) -> None:
    system.program("apt-get", FAKE_APT.format(log=system.calls, bin=system.bin))
    system.hide("nginx")
    result = system.run(uid=0)
    assert result.returncode == 0, result.stderr
    assert "installing Debian packages: nginx" in result.stdout
    assert system.logged_calls() == ["update -qq", "install -y -qq nginx"]
    again = system.run(uid=0)
    assert (again.returncode, again.stdout) == (0, "")
    assert system.logged_calls() == ["update -qq", "install -y -qq nginx"]


def test_a_package_still_missing_after_apt_get_is_named(system: FakeSystem) -> None:
    system.program("apt-get", f'echo "$@" >> "{system.calls}"')  # installs nothing
    system.hide("chromium")
    result = system.run(uid=0)
    assert result.returncode == 1
    assert "apt-get installed chromium, but these are still not found: chromium" in result.stderr
    assert system.logged_calls() == ["update -qq", "install -y -qq chromium"]


def test_as_root_it_starts_a_service_that_is_down_and_waits_for_it(system: FakeSystem) -> None:
    system.program("redis-server", f'echo "redis-server $@" >> "{system.calls}"')
    port = system.stop("REDIS")
    result = system.run(uid=0)
    [call] = system.logged_calls()
    assert call.startswith(f"redis-server --daemonize yes --bind 127.0.0.1 -::1 --port {port} ")
    assert "starting Redis" in result.stdout
    # The fake started nothing: the script says so instead of letting the tests find out.
    assert result.returncode == 1
    assert f"Redis was started but does not answer on 127.0.0.1:{port} after 1 s" in result.stderr


def test_a_server_already_answering_needs_no_package(system: FakeSystem) -> None:
    for name in ("pg_ctlcluster", "rabbitmq-server"):
        system.hide(name)
    result = system.run(uid=1000)
    assert (result.returncode, result.stderr) == (0, "")


def test_the_makefile_sets_up_the_system_before_anything_else() -> None:
    makefile = (SCRIPT.parents[1] / "Makefile").read_text()
    assert "\ntest: system\n" in makefile
    assert "scripts/install-system-packages.sh" in makefile
    assert "make test" in (SCRIPT.parents[1] / ".ci" / "run").read_text()
    assert "install-system-packages" not in (SCRIPT.parents[1] / ".ci" / "run").read_text()
