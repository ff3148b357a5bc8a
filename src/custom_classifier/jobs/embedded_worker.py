"""Entry point of one embedded worker process:
`python -m custom_classifier.jobs.embedded_worker JOB_ID [SERVER_PID]`.

Settings come from the `CC_*` environment the runner passes down. The worker stops with its
server: SIGTERM (the server stopping it) or the server's death (watched here, since the worker
runs in a session of its own and a killed server cannot stop it) interrupts the training; the
run ends KILLED with the reason and the job is re-queued, for the next server to run.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

from custom_classifier.config import Settings
from custom_classifier.errors import WorkerInterrupted
from custom_classifier.jobs.tasks import execute_job

logger = logging.getLogger(__name__)

PARENT_POLL_SECONDS = 0.5
EXIT_GRACE_SECONDS = 60.0
"""An interrupted worker that has not unwound after this long exits at once; the reaper of
the next server settles its job (its process is gone)."""
EXIT_INTERRUPTED = 128 + signal.SIGTERM

_reasons: list[str] = []
"""Why the watcher stopped this worker; empty when a signal came from outside."""


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(
            "usage: python -m custom_classifier.jobs.embedded_worker JOB_ID [SERVER_PID]",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if len(argv) == 2:
        watch_server(int(argv[1]))
    status = execute_job(argv[0], Settings())
    logger.info("job %s ended: %s", argv[0], status)
    return 0


def watch_server(server_pid: int) -> threading.Thread:
    """Interrupt this worker once `server_pid` is no longer its parent (it died)."""

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(PARENT_POLL_SECONDS)
        stop(f"the server that started this training (process {server_pid}) stopped")

    thread = threading.Thread(target=watch, name="cc-server-watch", daemon=True)
    thread.start()
    return thread


def stop(reason: str) -> None:
    """Interrupt the main thread with `reason`, as SIGTERM does; exit if it does not unwind."""
    _reasons.append(reason)
    logger.warning("stopping: %s", reason)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(EXIT_GRACE_SECONDS)
    logger.error("the training did not stop within %.0f s; exiting", EXIT_GRACE_SECONDS)
    os._exit(EXIT_INTERRUPTED)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """Unwind instead of dying: the MLflow run ends KILLED and the job is re-queued.

    Once: a second signal while unwinding would interrupt the ending itself.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    name = signal.Signals(signum).name
    raise WorkerInterrupted(_reasons[0] if _reasons else f"its worker process was stopped ({name})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
