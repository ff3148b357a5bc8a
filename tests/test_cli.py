"""End to end through the real `custom-classifier` command with the bundled MiniLM."""

from __future__ import annotations

import json
import os
import random
import re
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


def run_cli(
    home: Path, *args: str, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {
        **{name: value for name, value in os.environ.items() if name not in unset},
        "CC_HOME": str(home),
        "CC_MIN_DOCS_PER_LABEL": "20",
        "CC_DATA_ROOTS": json.dumps([str(home.parent)]),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",  # messages and the progress display on one line each
    }
    command = [sys.executable, "-m", "custom_classifier.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def training(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`train` on an empty CC_HOME: (home, the finished command)."""
    base = tmp_path_factory.mktemp("cli")
    data = write_topic_corpus(base / "news", TOPIC_WORDS, per_label=40)
    home = base / "home"
    result = run_cli(
        home, "train", str(data), "--name", "news", "--label", "sport", "--label", "finance",
        "--epochs", "3", "--max-length", "64", "--batch-size", "12", "--json",
    )  # fmt: skip
    return home, result


@pytest.fixture(scope="module")
def trained_by_cli(
    training: tuple[Path, subprocess.CompletedProcess[str]],
) -> tuple[Path, dict, str]:
    """(home, the JSON outcome, the admin key `train` printed once on the empty CC_HOME)."""
    home, result = training
    assert result.returncode == 0, result.stderr[-3000:]
    keys = re.findall(r"\bcc_[0-9a-f]+_[A-Za-z0-9_-]+", result.stderr)
    assert len(keys) == 1, result.stderr[-3000:]
    return home, json.loads(result.stdout), keys[0]


@pytest.fixture(scope="module")
def trained(trained_by_cli: tuple[Path, dict, str]) -> tuple[Path, dict]:
    home, outcome, _ = trained_by_cli
    return home, outcome


def test_train_accepts_and_registers(trained: tuple[Path, dict]) -> None:
    _, outcome = trained
    assert outcome["owner"] == "admin"
    assert outcome["accepted"] is True
    assert outcome["reasons"] == []
    assert outcome["metrics"]["macro_f1"] >= 0.8
    assert set(outcome["metrics"]["per_label"]) == {"sport", "finance"}
    assert 0 <= outcome["baseline"]["macro_f1"] <= 1
    assert outcome["registered_model"] == {"name": "news", "version": 1, "alias": "champion"}
    assert outcome["gate"]["baseline"]["verdict"] != "significant regression"
    assert outcome["gate"]["alias"] == "champion"
    assert len(outcome["run_id"]) == 32


@pytest.mark.parametrize(
    "model", ["run_id", "news", "news@champion", "models:/news@champion", "models:/news/1"]
)
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


def test_predict_a_folder_writes_csv_and_jsonl(trained: tuple[Path, dict], tmp_path: Path) -> None:
    home, outcome = trained
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "match.txt").write_text("The striker scored a late goal for the team")
    (inbox / "sub" / "bank.txt").write_text("Bank shares fell as investors sold stock")
    (inbox / "blank.txt").write_text("   ")
    result = run_cli(home, "predict", outcome["run_id"], "--folder", str(inbox), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["classified"], summary["unreadable"]) == (3, 2, 1)
    rows = {
        row["path"]: row
        for row in map(json.loads, Path(summary["files"]["jsonl"]).read_text().splitlines())
    }
    assert rows["match.txt"]["label"] == "sport"
    assert rows["sub/bank.txt"]["label"] == "finance"
    assert rows["blank.txt"]["error"]
    assert Path(summary["files"]["csv"]).read_text().count("\n") == 4


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
    error = json.loads(missing.stdout)["error"]
    assert error["code"] == "classifier_not_found"
    assert error["message"] == "no classifier named 'noise'; none exists yet"


def test_an_unknown_classifier_is_named_as_typed_with_those_that_exist(
    trained: tuple[Path, dict],
) -> None:
    home, _ = trained
    for reference in ("nope", "models:/nope@champion"):
        result = run_cli(home, "predict", reference, "--text", "goal", "--json")
        assert result.returncode == 1, result.stderr[-3000:]
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "classifier_not_found"
        assert error["message"] == "no classifier named 'nope'; the classifiers that exist: news"
    unknown_alias = run_cli(home, "predict", "news@staging", "--text", "goal", "--json")
    error = json.loads(unknown_alias.stdout)["error"]
    assert error["code"] == "model_not_found"
    assert "admin." not in error["message"] and "models:/" not in error["message"]
    assert error["message"].startswith("classifier 'news' has no version or alias 'staging'")


def test_an_unknown_user_is_refused_with_the_users_that_exist(trained: tuple[Path, dict]) -> None:
    home, _ = trained
    result = run_cli(home, "predict", "news", "--user", "bob", "--text", "goal", "--json")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "user_not_found"
    assert "users: admin" in error["message"] and "users create bob" in error["message"]


def test_the_api_and_the_web_ui_see_the_classifier_trained_by_the_cli(
    trained_by_cli: tuple[Path, dict, str],
) -> None:
    from fastapi.testclient import TestClient

    from custom_classifier.app import create_app
    from custom_classifier.config import Settings

    home, outcome, key = trained_by_cli
    headers = {"Authorization": f"Bearer {key}"}
    text = {"text": "The striker scored a late goal for the team"}
    with TestClient(create_app(Settings(home=home))) as client:
        listed = client.get("/api/v1/classifiers", headers=headers).json()
        assert [c["name"] for c in listed["data"]] == ["news"]
        by_name = client.post("/api/v1/classifiers/news/predict", json=text, headers=headers)
        assert by_name.status_code == 200 and by_name.json()["label"] == "sport"
        run = outcome["run_id"]
        by_run = client.post(f"/api/v1/models/{run}/predict", json=text, headers=headers)
        assert by_run.status_code == 200 and by_run.json()["label"] == "sport"
        unknown = client.post("/api/v1/classifiers/nope/predict", json=text, headers=headers)
        assert unknown.status_code == 404
        assert unknown.json()["error"]["message"] == (
            "no classifier named 'nope'; the classifiers that exist: news"
        )

        client.get("/ui/login")
        form = {"api_key": key, "csrf_token": client.cookies["cc_csrf"]}
        assert client.post("/ui/login", data=form).status_code == 200  # followed to /ui/
        dashboard = client.get("/ui/")
        assert 'href="/ui/classifiers/news"' in dashboard.text


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


PHASES = [
    "Reading documents",
    "Preparing the model",
    "Training",
    "Evaluating on the test split",
    "Logging to MLflow",
]
PHASE_LINE = re.compile(rf"^({'|'.join(PHASES)}) .*\b\d+:\d\d:\d\d\b")
COUNT = re.compile(r"\b\d+/\d+\b")
NOISE_SWITCHES = ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "HF_HUB_DISABLE_PROGRESS_BARS")


def test_train_shows_each_phase_with_its_own_clock(
    training: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = training
    lines = {m[1]: line for line in result.stderr.splitlines() if (m := PHASE_LINE.match(line))}
    assert list(lines) == PHASES, result.stderr[-3000:]
    assert "80/80" in lines["Reading documents"]  # counted before reading: a total from the start
    assert COUNT.search(lines["Training"])
    for phase in ("Preparing the model", "Evaluating on the test split", "Logging to MLflow"):
        assert not COUNT.search(lines[phase]), lines[phase]  # not the training's frozen "0/80"


def test_the_batch_size_reaches_the_training(trained: tuple[Path, dict]) -> None:
    from mlflow import MlflowClient

    from custom_classifier.config import Settings

    home, outcome = trained
    run = MlflowClient(Settings(home=home).resolved_tracking_uri).get_run(outcome["run_id"])
    assert run.data.params["batch_size"] == "12"


def test_predict_is_quiet_unless_asked_to_be_verbose(trained: tuple[Path, dict]) -> None:
    home, outcome = trained
    ask = ("predict", outcome["run_id"], "--text", "The striker scored")
    quiet = run_cli(home, *ask, unset=NOISE_SWITCHES)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    # The answer and nothing else (the console writes to stderr).
    assert [line.split()[0] for line in quiet.stderr.splitlines()] == ["sport"], quiet.stderr
    verbose = run_cli(home, *ask, "--verbose", unset=NOISE_SWITCHES)
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    assert "Downloading artifacts" in verbose.stderr


def test_train_says_which_evaluation_it_used_and_why(tmp_path: Path) -> None:
    data = write_topic_corpus(tmp_path / "news", TOPIC_WORDS, per_label=25)
    result = run_cli(
        tmp_path / "home", "train", str(data), "--name", "news", "--label", "sport",
        "--label", "finance", "--epochs", "1", "--max-length", "32", "--evaluation", "kfold",
        "--folds", "2", "--min-macro-f1", "0", "--min-label-f1", "0",
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr[-3000:]
    shown = result.stderr  # the human-readable outcome
    assert "evaluation: 2-fold cross-validation - 2-fold cross-validation was asked for" in shown
    assert "95 % intervals over 44 out-of-fold documents" in shown
    assert "Out-of-fold evaluation" in shown


def test_train_options_say_what_they_do_and_their_defaults(tmp_path: Path) -> None:
    from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments

    training, acceptance = TrainingArguments(), AcceptanceCriteria()
    defaults = {
        "--epochs": training.epochs,
        "--max-length": training.max_length,
        "--batch-size": training.batch_size,
        "--min-macro-f1": acceptance.min_macro_f1,
        "--min-label-f1": acceptance.min_label_f1,
        "--evaluation": training.evaluation,
        "--folds": training.folds,
    }
    result = run_cli(tmp_path, "train", "--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for option, default in defaults.items():
        [line] = [line for line in lines if f" {option} " in line]
        assert f"[default: {default}]" in line, line
        help_text = line.split(">", 1)[1].split("[default")[0].strip(" │")
        assert len(help_text) > 20, line


def test_inspect_reads_every_label_folder_unless_told_which(tmp_path: Path) -> None:
    data = write_topic_corpus(tmp_path / "news", TOPIC_WORDS, per_label=20)
    result = run_cli(tmp_path / "home", "inspect", str(data), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert [label["label"] for label in report["labels"]] == ["finance", "sport"]
    assert report["problems"] == []


def test_inspect_at_a_depth_reports_the_sub_folders_and_prints_the_tree(tmp_path: Path) -> None:
    write_topic_corpus(tmp_path / "news" / "leisure", TOPIC_WORDS, per_label=20)
    write_topic_corpus(tmp_path / "news" / "money", {"bank": TOPIC_WORDS["finance"]}, per_label=3)
    news = str(tmp_path / "news")
    as_json = run_cli(tmp_path / "home", "inspect", news, "--depth", "2", "--json")
    printed = run_cli(tmp_path / "home", "inspect", news, "--depth", "2").stderr  # the console

    assert as_json.returncode == 2, as_json.stderr[-3000:]  # money/bank is short of documents
    report = json.loads(as_json.stdout)
    assert [label["label"] for label in report["labels"]] == [
        "leisure/finance",
        "leisure/sport",
        "money/bank",
    ]
    assert [problem["label"] for problem in report["problems"]] == ["money/bank"]
    assert "Label tree (depth 2)" in printed
    assert re.search(r"leisure\s+40 / 40", printed), printed
    assert re.search(r"bank\s+3 / 3", printed), printed


def test_invalid_data_lists_each_problem_once(tmp_path: Path) -> None:
    data = write_topic_corpus(tmp_path / "small", TOPIC_WORDS, per_label=5)
    result = run_cli(
        tmp_path / "home", "train", str(data), "--name", "small",
        "--label", "sport", "--label", "finance", "--label", "weather",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("error (invalid_dataset)") == 1
    assert result.stderr.count("label folder 'weather' was not found") == 1
    assert result.stderr.count("label folder 'sport' has 5 usable documents") == 1


def test_a_hierarchical_prediction_prints_each_level() -> None:
    from custom_classifier.cli import prediction_line

    result = {
        "label": "sport/football",
        "score": 0.71,
        "abstained": False,
        "input": "text 1",
        "path": [{"label": "sport", "score": 0.88}, {"label": "sport/football", "score": 0.71}],
    }

    assert prediction_line(result) == (
        "sport/football  0.710  text 1  (path: sport 0.880 > sport/football 0.710)"
    )
    assert prediction_line({**result, "path": None}) == "sport/football  0.710  text 1"


def test_train_in_multi_label_mode_prints_the_multi_label_scores(tmp_path: Path) -> None:
    data = write_topic_corpus(tmp_path / "shared", TOPIC_WORDS, per_label=24, seed=2)
    for i, path in enumerate(sorted((data / "sport").iterdir())[:8]):  # in both folders
        (data / "finance" / f"shared-{i}.txt").write_text(path.read_text())
    result = run_cli(
        tmp_path / "home", "train", str(data), "--name", "both", "--label", "sport",
        "--label", "finance", "--mode", "multi", "--epochs", "1", "--max-length", "32",
        "--min-macro-f1", "0", "--min-label-f1", "0", "--no-beat-baseline",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "multi-label: micro-F1" in result.stderr
    assert "thresholds (tuned on validation): sport" in result.stderr
