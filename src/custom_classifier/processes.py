"""Child processes: a free loopback port, and stopping processes (terminate, then kill).

Used by the embedded job runner, the data-parallel launcher and the test support; it imports
nothing of ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from typing import Any


def free_ports(count: int) -> list[int]:
    """Loopback ports nobody listens on now (all bound at once, so they differ, then released)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def free_port() -> int:
    """One loopback port nobody listens on now."""
    return free_ports(1)[0]


def stop_processes(
    processes: Sequence[subprocess.Popen[Any]], *, grace: float, group: bool = False
) -> None:
    """SIGTERM every process still running, give them `grace` seconds together, then SIGKILL.

    With `group`, each signal goes to the process's whole process group (a process started
    with `start_new_session=True`), so its children stop with it; the group is killed even
    when its leader has exited, for stragglers such as pool children.
    """
    for process in processes:
        if process.poll() is None:
            _send(process, signal.SIGTERM, group=group)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        if group or process.poll() is None:
            _send(process, signal.SIGKILL, group=group)
        process.wait()


def stop_process(process: subprocess.Popen[Any], *, grace: float, group: bool = False) -> None:
    """`stop_processes` for one process."""
    stop_processes([process], grace=grace, group=group)


def _send(process: subprocess.Popen[Any], signal_number: int, *, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(process.pid, signal_number)
        else:
            process.send_signal(signal_number)
