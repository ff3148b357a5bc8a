"""Runs of an interrupted job: a worker that died left them RUNNING; end them KILLED."""

from __future__ import annotations

import logging

from mlflow.entities import RunStatus

from custom_classifier.config import Settings
from custom_classifier.registry import tags as keys
from custom_classifier.registry.connect import open_registry
from custom_classifier.registry.run_endings import discard_versions, end_run
from custom_classifier.registry.tags import TAGS
from custom_classifier.registry.tracking import experiment_name

logger = logging.getLogger(__name__)


def end_interrupted_runs(
    settings: Settings, owner: str, job_id: str, reason: str, *, cancelled: bool = False
) -> list[str]:
    """End every RUNNING run of `job_id` KILLED with `reason`; returns their ids.

    Only the run's worker writes to it, and that worker is gone; the job's next attempt starts
    a run of its own. Whatever an unfinished run of the job registered is deleted (the worker
    may have died between registering and finishing its run).
    """
    client = open_registry(settings).client
    experiment = client.get_experiment_by_name(experiment_name(owner))
    if experiment is None:
        return []
    outcome = keys.OUTCOME_CANCELLED if cancelled else keys.OUTCOME_INTERRUPTED
    tags = {TAGS.outcome: outcome, TAGS.stop_reason: reason}
    query = f"tags.`{TAGS.job_id}` = '{job_id}'"
    ended = []
    for run in client.search_runs([experiment.experiment_id], filter_string=query):
        if run.info.status == RunStatus.to_string(RunStatus.FINISHED):
            continue
        if end_run(client, run.info.run_id, RunStatus.KILLED, tags):
            ended.append(run.info.run_id)
        discard_versions(client, run.info.run_id)
    if ended:
        logger.warning("job %s: ended interrupted runs %s", job_id, ", ".join(ended))
    return ended
