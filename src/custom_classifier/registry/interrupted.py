"""Runs of an interrupted job: a worker that died left them RUNNING; end them FAILED."""

from __future__ import annotations

import logging

from mlflow.entities import RunStatus

from custom_classifier.config import Settings
from custom_classifier.registry import tags as keys
from custom_classifier.registry.connect import open_registry
from custom_classifier.registry.tags import TAGS
from custom_classifier.registry.tracking import experiment_name

logger = logging.getLogger(__name__)


def end_interrupted_runs(settings: Settings, owner: str, job_id: str, reason: str) -> list[str]:
    """End every RUNNING run of `job_id` as FAILED with `reason`; returns their ids.

    Only the run's worker writes to it, and that worker is dead; the job's next attempt starts
    a run of its own. Nothing was registered: registration is the last step of a run.
    """
    client = open_registry(settings).client
    experiment = client.get_experiment_by_name(experiment_name(owner))
    if experiment is None:
        return []
    query = f"tags.`{TAGS.job_id}` = '{job_id}' and attributes.status = 'RUNNING'"
    ended = []
    for run in client.search_runs([experiment.experiment_id], filter_string=query):
        run_id = run.info.run_id
        client.set_tag(run_id, TAGS.outcome, keys.OUTCOME_FAILED)
        client.set_tag(run_id, TAGS.error, reason)
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))
        ended.append(run_id)
    if ended:
        logger.warning("job %s: ended interrupted runs %s", job_id, ", ".join(ended))
    return ended
