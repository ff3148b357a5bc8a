"""Lines a test adds to pytest's closing summary (shown even when its output is captured)."""

from __future__ import annotations

import pytest

SUMMARY_LINES = pytest.StashKey[list[str]]()


def add_summary_line(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(SUMMARY_LINES, []).append(line)
