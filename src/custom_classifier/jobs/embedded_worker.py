"""Entry point of one embedded worker process: `python -m custom_classifier.jobs.embedded_worker ID`.

Settings come from the `CC_*` environment the runner passes down.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from custom_classifier.config import Settings
from custom_classifier.jobs.tasks import execute_job


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m custom_classifier.jobs.embedded_worker JOB_ID", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    status = execute_job(argv[0], Settings())
    logging.getLogger(__name__).info("job %s ended: %s", argv[0], status)
    return 0


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """Unwind instead of dying: the MLflow run ends FAILED and the runner re-queues the job."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
