"""`custom-classifier min-score NAME VALUE --alias A` sets the abstain threshold of an alias."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custom_classifier.cli import app
from custom_classifier.config import get_settings
from custom_classifier.registry.connect import open_registry
from factories import log_classifier_run


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CC_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_min_score_sets_the_aliass_version_and_refuses_out_of_bounds(
    home: Path, tiny_classifier_dir: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["users", "create", "alice", "--admin"]).exit_code == 0
    registry = open_registry(get_settings())
    registry.register(log_classifier_run(registry, tiny_classifier_dir), "alice", "spam-filter")

    done = runner.invoke(app, ["min-score", "spam-filter", "0.7", "--user", "alice", "--json"])
    too_high = runner.invoke(app, ["min-score", "spam-filter", "1.5", "--user", "alice"])
    no_alias = runner.invoke(
        app, ["min-score", "spam-filter", "0.5", "--alias", "nowhere", "--user", "alice"]
    )

    assert done.exit_code == 0, done.output
    assert '"version": 1' in done.stdout and '"min_score": 0.7' in done.stdout
    (version,) = registry.get_classifier("alice", "spam-filter").versions
    assert version.min_score == 0.7
    assert too_high.exit_code == 2 and "less than or equal to 1" in _words(too_high.output)
    assert no_alias.exit_code != 0 and "no alias 'nowhere'" in _words(no_alias.output)


def _words(output: str) -> str:
    """The output's words, without the boxes and line breaks of rich's panels."""
    return " ".join(output.replace("│", " ").split())
