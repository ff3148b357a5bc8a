"""Property-based fuzzing of the whole API with schemathesis, against the real app.

One uvicorn server for the module (embedded job runner, real MLflow store, tiny base model),
three users (alice owns a trained classifier, bob owns nothing, root is an admin). Every
operation in the OpenAPI document gets valid and invalid requests from all four schemathesis
phases it runs under pytest (examples, coverage, fuzzing) with every check on: any 5xx, any
status the document does not declare, any answer off its schema fails the test. A second run
fills in alice's real run id, job id and classifier name, where the interesting code is, and asks
bob the same: he must never get alice's objects.

Fuzzed trainings cannot queue real work: the data roots hold only a tiny folder, the base model is
the tiny BERT, and every job a fuzzed request creates is cancelled at once. Deterministic (the same
cases each run) and bounded: `CC_FUZZ_EXAMPLES` (default 25) examples per operation and phase.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, make_topic_folder
from support.live_server import live_server
from support.summary import add_summary_line

EXAMPLES = int(os.environ.get("CC_FUZZ_EXAMPLES", "25"))
LABELS = ["sport", "finance"]
TINY_TRAINING = {"epochs": 1, "max_length": 32, "batch_size": 8, "export_onnx": False}
ACCEPT_ALL = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
TERMINAL = {"accepted", "rejected", "failed", "cancelled"}
ADMIN_PATHS = ("/api/v1/users",)

# All checks stay on. Two expectations follow this API's documented contract instead of the
# defaults: a request valid by the schema may still name a folder, label, version or user that
# does not exist (422/404/409), and an oversized body is refused with 413 before it is read.
CONFIG = {
    "generation": {"deterministic": True, "database": "none"},
    "request-timeout": 60,
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
        },
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "409", "413", "415", "422"]
        },
    },
}


@dataclass
class FuzzTarget:
    """The running server, its users, and alice's real objects."""

    url: str
    alice: dict[str, str]
    bob: dict[str, str]
    admin: dict[str, str]
    run_id: str
    job_id: str
    classifier: str = "news"
    cases: int = 0
    started: float = field(default_factory=time.monotonic)

    def headers_for(self, path: str) -> dict[str, str]:
        return self.admin if path.startswith(ADMIN_PATHS) else self.alice


@pytest.fixture(scope="module")
def fuzz_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path
) -> Iterator[FuzzTarget]:
    home = tmp_path_factory.mktemp("fuzz-home")
    settings_ = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    folder = make_topic_folder(settings_.resolved_data_roots[0], dict.fromkeys(LABELS, 10))
    app = create_app(settings_)
    with live_server(app) as url:
        alice, bob = api_headers(app, "alice"), api_headers(app, "bob")
        admin = api_headers(app, "root", is_admin=True)
        job = _train(url, alice, str(folder))
        target = FuzzTarget(url, alice, bob, admin, run_id=job["run_id"], job_id=job["id"])
        yield target
    elapsed = time.monotonic() - target.started
    add_summary_line(request.config, f"schemathesis: {target.cases} cases in {elapsed:.0f} s")


def _train(url: str, headers: dict[str, str], location: str) -> dict[str, Any]:
    body = {
        "name": "news",
        "location": location,
        "labels": LABELS,
        "training": TINY_TRAINING,
        "acceptance": ACCEPT_ALL,
    }
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        created = client.post("/api/v1/classifiers", json=body)
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            job: dict[str, Any] = client.get(f"/api/v1/jobs/{created.json()['id']}").json()
            if job["status"] in TERMINAL:
                assert job["status"] == "accepted", job
                return job
            time.sleep(0.5)
    raise AssertionError(f"the training did not end in time: {job}")


def _call(case: Any, target: FuzzTarget, headers: dict[str, str] | None = None) -> Any:
    """Send the case as the user its route is for, check everything, cancel what it queued."""
    target.cases += 1
    headers = headers or target.headers_for(case.operation.path)
    response = case.call_and_validate(
        base_url=target.url, headers=headers, excluded_checks=_voided_checks(case)
    )
    queued = QUEUES.get(case.operation.path)
    if queued is not None and response.status_code == 202:
        job_id = response.json()["id"]
        with httpx.Client(base_url=target.url, headers=target.alice) as client:
            assert client.post(f"{queued}/{job_id}/cancel").status_code in (200, 409)
    return response


QUEUES = {
    "/api/v1/classifiers": "/api/v1/jobs",
    "/api/v1/predictions": "/api/v1/predictions",
    "/api/v1/prediction-uploads": "/api/v1/predictions",
}
"""Operations that queue a job, and where that job is cancelled."""


def _voided_checks(case: Any) -> list[Any]:
    """Checks that cannot judge this case as sent. The user's key replaces any Authorization
    header the case carries, so a case generated invalid in its headers (a malformed key, plus
    perhaps a query value that serializes to nothing) may reach the server as a valid request:
    its acceptance proves nothing. Every other check still runs on it."""
    components = case.meta.components if case.meta else {}
    header = components.get(ParameterLocation.HEADER)
    if header is not None and header.mode is GenerationMode.NEGATIVE:
        return [negative_data_rejection]
    return []


BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)

# The OpenAPI document does not depend on the running service, so it is read from an app that is
# built but not started; schemathesis needs it when the tests are collected.
SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(), run_jobs=False).openapi(), config=schemathesis.Config.from_dict(CONFIG)
)
REAL_IDS = {"run_id", "job_id", "name"}


@SCHEMA.parametrize()
@BOUNDED
def test_every_operation_answers_as_documented(case: Any, fuzz_target: FuzzTarget) -> None:
    _call(case, fuzz_target)


@SCHEMA.include(path_regex=r"\{(run_id|job_id|name)\}", method=["GET", "POST", "PUT"]).parametrize()
@BOUNDED
def test_with_real_ids_and_another_user_who_must_see_nothing(
    case: Any, fuzz_target: FuzzTarget
) -> None:
    real = {"run_id": fuzz_target.run_id, "job_id": fuzz_target.job_id, "name": "news"}
    for name in REAL_IDS & set(case.path_parameters or {}):
        case.path_parameters[name] = real[name]

    _call(case, fuzz_target)
    as_bob = case.call(base_url=fuzz_target.url, headers=fuzz_target.bob)

    assert as_bob.status_code < 500, as_bob.text
    assert not 200 <= as_bob.status_code < 300, (
        f"bob got alice's {case.operation.label}: {as_bob.status_code} {as_bob.text[:300]}"
    )
