"""The bake-off's choice: the best validation macro-F1; within noise, the cheapest to serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_classifier.config import Settings
from custom_classifier.jobs import bakeoff


def candidate(name: str, validation: float, cpu_ms: float, size: int = 100) -> bakeoff.Candidate:
    return bakeoff.Candidate(
        name=name,
        kind="encoder",
        fine_tuning="full",
        validation_macro_f1=validation,
        test_macro_f1=validation,
        train_seconds=1.0,
        cpu_ms_per_document=cpu_ms,
        gpu_ms_per_document=None,
        size_bytes=size,
    )


def test_a_clearly_better_candidate_wins_even_if_slower() -> None:
    candidates = [candidate("small", 0.80, cpu_ms=5), candidate("large", 0.95, cpu_ms=200)]

    assert bakeoff.choose_winner(candidates, validation_documents=100) == 1


def test_among_candidates_within_noise_the_fastest_wins() -> None:
    candidates = [candidate("large", 0.95, cpu_ms=200), candidate("small", 0.94, cpu_ms=5)]

    assert bakeoff.choose_winner(candidates, validation_documents=20) == 1


def test_equal_speed_goes_to_the_smaller_model() -> None:
    candidates = [candidate("a", 0.9, cpu_ms=5, size=300), candidate("b", 0.9, cpu_ms=5, size=200)]

    assert bakeoff.choose_winner(candidates, validation_documents=50) == 1


def test_the_noise_margin_shrinks_with_more_validation_documents() -> None:
    assert bakeoff.noise_margin(0.9, 20) > bakeoff.noise_margin(0.9, 2000)
    assert bakeoff.noise_margin(1.0, 10) == pytest.approx(0.1)  # one document's worth


def test_the_table_marks_the_winner() -> None:
    rows = bakeoff.report_table([candidate("a", 0.9, 5), candidate("b", 0.8, 5)], winner=0)

    assert [(r["name"], r["winner"]) for r in rows] == [("a", True), ("b", False)]
    assert set(rows[0]) >= {
        "validation_macro_f1",
        "test_macro_f1",
        "train_seconds",
        "cpu_ms_per_document",
        "gpu_ms_per_document",
        "size_bytes",
    }


def test_auto_takes_the_presets_available_offline_that_fit(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    gigabyte = 1024**3

    assert bakeoff.expand_candidates(["auto"], settings, free_bytes=64 * gigabyte) == ["minilm"]
    assert bakeoff.expand_candidates(["auto"], settings, free_bytes=1000) == []
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    assert bakeoff.expand_candidates(["minilm", "auto"], settings, free_bytes=64 * gigabyte) == [
        "minilm",
        "smollm2-135m",
    ]
