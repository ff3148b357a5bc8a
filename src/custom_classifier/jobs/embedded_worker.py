"""Entry point of one embedded worker process: `python -m custom_classifier.jobs.embedded_worker ID`.

Settings come from the `CC_*` environment the runner passes down.
"""

from __future__ import annotations

import logging
import sys

from custom_classifier.config import Settings
from custom_classifier.jobs.tasks import execute_job


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m custom_classifier.jobs.embedded_worker JOB_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    status = execute_job(argv[0], Settings())
    logging.getLogger(__name__).info("job %s ended: %s", argv[0], status)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
