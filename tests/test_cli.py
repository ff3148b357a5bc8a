"""End to end through the real `custom-classifier` command with the bundled MiniLM."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TOPIC_WORDS = {
    "sport": "match goal team coach league player score season striker referee stadium win".split(),
    "finance": "market shares profit bank investor stock earnings bond revenue inflation rate".split(),
}
FILLER = "the a of and in on with for this that after before today yesterday".split()


def write_topic_corpus(
    root: Path, labels: dict[str, list[str]], per_label: int, seed: int = 0
) -> Path:
    """One folder per label whose texts mix that label's topic words with common filler."""
    rng = random.Random(seed)
    for label, words in labels.items():
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(per_label):
            tokens = [rng.choice(words if rng.random() < 0.5 else FILLER) for _ in range(30)]
            (folder / f"{label}-{i:03d}.txt").write_text(" ".join(tokens).capitalize() + ".")
    return root


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CC_HOME": str(home),
        "CC_MIN_DOCS_PER_LABEL": "20",
        "CC_DATA_ROOTS": json.dumps([str(home.parent)]),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "custom_classifier.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("cli")
    data = write_topic_corpus(base / "news", TOPIC_WORDS, per_label=40)
    home = base / "home"
    result = run_cli(
        home, "train", str(data), "--name", "news", "--label", "sport", "--label", "finance",
        "--epochs", "3", "--max-length", "64", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return home, json.loads(result.stdout)


def test_train_accepts_and_registers(trained: tuple[Path, dict]) -> None:
    _, outcome = trained
    assert outcome["accepted"] is True
    assert outcome["reasons"] == []
    assert outcome["metrics"]["macro_f1"] >= 0.8
    assert set(outcome["metrics"]["per_label"]) == {"sport", "finance"}
    assert 0 <= outcome["baseline"]["macro_f1"] <= 1
    assert outcome["registered_model"] == {"name": "news", "version": 1}
    assert len(outcome["run_id"]) == 32


@pytest.mark.parametrize("model", ["run_id", "models:/news@champion", "models:/news/1"])
def test_predict_by_run_id_and_registered_name(trained: tuple[Path, dict], model: str) -> None:
    home, outcome = trained
    reference = outcome["run_id"] if model == "run_id" else model
    result = run_cli(
        home, "predict", reference, "--text", "The striker scored a late goal for the team",
        "--text", "Bank shares fell as investors sold stock after weak earnings", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = json.loads(result.stdout)
    assert [p["label"] for p in predictions] == ["sport", "finance"]
    for prediction in predictions:
        assert sum(prediction["scores"].values()) == pytest.approx(1.0, abs=1e-4)
        assert prediction["score"] == max(prediction["scores"].values())


def test_predict_a_file(trained: tuple[Path, dict], tmp_path: Path) -> None:
    home, outcome = trained
    document = tmp_path / "note.html"
    document.write_text(
        "<html><body><p>The coach praised the team after the match win</p></body></html>"
    )
    result = run_cli(home, "predict", outcome["run_id"], "--file", str(document), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["label"] == "sport"


def test_rejected_model_is_not_registered(tmp_path: Path) -> None:
    same_words = {"left": TOPIC_WORDS["sport"], "right": TOPIC_WORDS["sport"]}
    data = write_topic_corpus(tmp_path / "noise", same_words, per_label=25, seed=1)
    home = tmp_path / "home"
    result = run_cli(
        home, "train", str(data), "--name", "noise", "--label", "left", "--label", "right",
        "--epochs", "1", "--max-length", "32", "--json",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-3000:]
    outcome = json.loads(result.stdout)
    assert outcome["accepted"] is False
    assert outcome["registered_model"] is None
    assert any("macro-F1" in reason for reason in outcome["reasons"])
    missing = run_cli(home, "predict", "models:/noise@champion", "--text", "goal", "--json")
    assert missing.returncode != 0
    assert json.loads(missing.stdout)["error"]["code"] == "model_not_found"


def test_invalid_data_exits_2_with_every_problem(tmp_path: Path) -> None:
    data = write_topic_corpus(tmp_path / "small", TOPIC_WORDS, per_label=5)
    result = run_cli(
        tmp_path / "home", "train", str(data), "--name", "small",
        "--label", "sport", "--label", "finance", "--label", "weather", "--json",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_dataset"
    codes = sorted(p["code"] for p in error["details"]["report"]["problems"])
    assert codes == ["label_not_found", "too_few_documents", "too_few_documents"]
