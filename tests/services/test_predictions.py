"""Prediction services: whose run a model is (`RunOwners`)."""

from __future__ import annotations

import pytest

from custom_classifier.errors import ModelNotFoundError
from custom_classifier.registry import Registry
from custom_classifier.registry.tags import TAGS
from custom_classifier.services.predictions import RunOwners
from custom_classifier.services.users import Identity

ALICE, BOB = Identity("alice"), Identity("bob")


def finished_run(registry: Registry, owner: str, outcome: str | None) -> str:
    with registry.start_run(owner, "spam-filter") as run:
        if outcome is not None:
            run.set_tags({TAGS.outcome: outcome})
    return str(run.run_id)


@pytest.mark.parametrize("outcome", ["accepted", "rejected"])
def test_the_owner_of_an_evaluated_run_gets_its_model(registry: Registry, outcome: str) -> None:
    run_id = finished_run(registry, "alice", outcome)

    assert RunOwners(registry).model_uri(ALICE, run_id) == f"runs:/{run_id}/model"


def test_someone_elses_run_is_not_found(registry: Registry) -> None:
    run_id = finished_run(registry, "alice", "accepted")

    with pytest.raises(ModelNotFoundError, match=run_id):
        RunOwners(registry).model_uri(BOB, run_id)


@pytest.mark.parametrize("run_id", ["not-a-run", "0" * 31, "Z" * 32])
def test_a_malformed_run_id_is_not_found(registry: Registry, run_id: str) -> None:
    with pytest.raises(ModelNotFoundError):
        RunOwners(registry).model_uri(ALICE, run_id)


def test_a_run_without_an_outcome_is_not_found_until_it_has_one(registry: Registry) -> None:
    run_id = finished_run(registry, "alice", None)
    owners = RunOwners(registry)

    with pytest.raises(ModelNotFoundError):
        owners.model_uri(ALICE, run_id)
    registry.client.set_tag(run_id, TAGS.outcome, "accepted")
    assert owners.model_uri(ALICE, run_id) == f"runs:/{run_id}/model"


def test_an_owner_once_known_costs_no_mlflow_query(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = finished_run(registry, "alice", "accepted")
    owners = RunOwners(registry)
    owners.model_uri(ALICE, run_id)

    def unreachable(run_id: str) -> None:
        raise AssertionError("MLflow was asked again")

    monkeypatch.setattr(registry, "find_run", unreachable)
    assert owners.model_uri(ALICE, run_id) == f"runs:/{run_id}/model"
    with pytest.raises(ModelNotFoundError):
        owners.model_uri(BOB, run_id)
