"""Third-party progress bars and chatter: off by default, shown with `--verbose`.

MLflow draws a "Downloading artifacts" bar and transformers a "Loading weights" bar at every
model load: in a CLI answer they bury the result, in a server's or worker's log they are noise.
Set through environment variables, so the processes a command starts (training ranks, the
baseline) inherit the choice.
"""

from __future__ import annotations

import os
import sys

_QUIET = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' own bars follow this at import
    # The newly initialised classification head is expected; its load report is noise.
    "TRANSFORMERS_VERBOSITY": "error",
}
_VERBOSE = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "true",
    "HF_HUB_DISABLE_PROGRESS_BARS": "0",
    "TRANSFORMERS_VERBOSITY": "info",
}


def quiet_by_default() -> None:
    """Quiet unless the environment already says otherwise."""
    for name, value in _QUIET.items():
        os.environ.setdefault(name, value)


def show_third_party_output(verbose: bool) -> None:
    """Show (True) or hide the bars and load reports, also in an already imported transformers."""
    os.environ.update(_VERBOSE if verbose else _QUIET)
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        if verbose:
            transformers_logging.enable_progress_bar()
            transformers_logging.set_verbosity_info()
        else:
            transformers_logging.disable_progress_bar()
            transformers_logging.set_verbosity_error()
