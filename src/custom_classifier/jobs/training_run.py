"""The training run: from a labeled folder to an evaluated, logged and maybe registered model.

Worker side: called by the job task (`jobs.tasks`) and by the CLI `train` command, which trains
in its own process. It imports torch (through `training`) lazily, so importing this module
stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custom_classifier.training.arguments import (
    AcceptanceCriteria,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingArguments,
)


@dataclass(frozen=True)
class TrainingRequest:
    """What a user asks for: a classifier name, a folder, the labels to use, and options."""

    name: str
    location: Path
    labels: list[str]
    owner: str | None = None
    base_model: str | None = None
    """A Hugging Face id or a local folder; default `Settings.base_model`."""
    training: TrainingArguments = field(default_factory=TrainingArguments)
    acceptance: AcceptanceCriteria = field(default_factory=AcceptanceCriteria)
    job_id: str | None = None


@dataclass(frozen=True)
class TrainingOutcome:
    run_id: str
    accepted: bool
    reasons: list[str]
    metrics: dict[str, Any]
    """`accuracy`, `macro_f1`, `weighted_f1`, `per_label`, `confusion_matrix`, `labels`."""
    baseline: dict[str, Any]
    data_report: dict[str, Any]
    registered_model: dict[str, Any] | None
    """`{"name": ..., "version": ...}` when accepted, else None."""
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "accepted": self.accepted,
            "reasons": self.reasons,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "data_report": self.data_report,
            "registered_model": self.registered_model,
            "timings": self.timings,
        }


def _noop_progress(progress: Progress) -> None:
    pass


def _never_stop() -> bool:
    return False


def run_training(
    request: TrainingRequest,
    settings: Any,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> TrainingOutcome:
    """Read and validate the folder, fine-tune, evaluate, log to MLflow, register if accepted.

    Raises `InvalidDatasetError` before any MLflow run exists when the data is invalid. Once the
    run has started, any failure ends it FAILED (cancellation: KILLED) and nothing is registered.
    """
    import tempfile
    import time

    from custom_classifier.corpus.reader import load_corpus
    from custom_classifier.corpus.split import split_corpus
    from custom_classifier.registry.connect import open_registry
    from custom_classifier.registry.tags import TAGS
    from custom_classifier.training.acceptance import decide
    from custom_classifier.training.data_parallel import (
        estimated_training_tokens,
        training_processes,
    )

    report = on_progress or _noop_progress
    stop = should_stop or _never_stop
    timings: dict[str, float] = {}
    started = time.perf_counter()

    report(Progress(step=0, total_steps=0, epoch=0.0, phase="reading"))
    corpus = load_corpus(
        request.location, request.labels, min_docs_per_label=settings.min_docs_per_label
    )
    args = request.training
    split = split_corpus(
        corpus.documents,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
    )
    timings["read_seconds"] = time.perf_counter() - started

    base_model = request.base_model or settings.base_model
    processes = training_processes(settings.training_gpus, estimated_training_tokens(split, args))
    registry = open_registry(settings)
    tags = {
        TAGS.location: str(request.location),
        TAGS.labels: ",".join(corpus.labels),
        TAGS.fingerprint: corpus.fingerprint,
    }
    if request.job_id:
        tags[TAGS.job_id] = request.job_id
    with registry.start_run(request.owner, request.name, tags) as run:
        run.log_params(
            {
                **args.to_dict(),
                **{f"acceptance.{k}": v for k, v in request.acceptance.to_dict().items()},
                "base_model": base_model,
                "labels": ",".join(corpus.labels),
                "train_documents": len(split.train),
                "validation_documents": len(split.validation),
                "test_documents": len(split.test),
                "training_processes": processes,
            }
        )
        run.log_dict(corpus.report.to_dict(), "data_report.json")
        run.log_dict(split.ids(), "split.json")
        with tempfile.TemporaryDirectory(prefix="cc-train-") as workdir:
            evaluation, baseline, timings_run = _train_and_evaluate(
                base_model,
                split,
                corpus.labels,
                request,
                processes,
                Path(workdir),
                run,
                report,
                stop,
            )
            timings.update(timings_run)
            decision = decide(evaluation, request.acceptance)
            run.log_metrics(
                {
                    "test_accuracy": evaluation.accuracy,
                    "test_macro_f1": evaluation.macro_f1,
                    "test_weighted_f1": evaluation.weighted_f1,
                    "baseline_macro_f1": baseline.macro_f1,
                    "baseline_accuracy": baseline.accuracy,
                    **{f"test_f1.{label}": s.f1 for label, s in evaluation.per_label.items()},
                }
            )
            run.log_dict(evaluation.to_dict(), "evaluation.json")
            run.log_dict(baseline.to_dict(), "baseline_evaluation.json")
            run.log_confusion_matrix(evaluation)
            report(Progress(step=0, total_steps=0, epoch=0.0, phase="logging"))
            if stop():
                from custom_classifier.errors import TrainingCancelledError

                raise TrainingCancelledError("the training was cancelled before registration")
            logging_started = time.perf_counter()
            registered = None
            if decision.accepted:
                run.log_classifier_model(Path(workdir) / "output" / "model")
                version = registry.register(run.run_id, request.owner, request.name)
                registered = {
                    "name": registry.registered_model_name(request.owner, request.name),
                    "version": version,
                }
                run.set_tags({TAGS.outcome: "accepted"})
            else:
                registry.mark_rejected(run.run_id, decision.reasons)
            timings["log_seconds"] = time.perf_counter() - logging_started
        timings["total_seconds"] = time.perf_counter() - started
        run.log_metrics({f"time_{k}": v for k, v in timings.items()})
        run_id = run.run_id

    report(Progress(step=0, total_steps=0, epoch=0.0, phase="done"))
    return TrainingOutcome(
        run_id=run_id,
        accepted=decision.accepted,
        reasons=decision.reasons,
        metrics=evaluation.to_dict(),
        baseline=baseline.to_dict(),
        data_report=corpus.report.to_dict(),
        registered_model=registered,
        timings=timings,
    )


def _train_and_evaluate(
    base_model: str,
    split: Any,
    labels: list[str],
    request: TrainingRequest,
    processes: int,
    workdir: Path,
    run: Any,
    report: ProgressCallback,
    stop: StopCheck,
) -> tuple[Any, Any, dict[str, float]]:
    import time
    from functools import partial

    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training.baseline_process import BaselineProcess
    from custom_classifier.training.data_parallel import fine_tune_data_parallel
    from custom_classifier.training.evaluation import evaluate_predictions
    from custom_classifier.training.trainer import fine_tune

    def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
        run.log_metrics(metrics, step=epoch)

    # The baseline needs only the CPU: it fits in its own process while the model trains.
    with BaselineProcess(split.train + split.validation, split.test, labels) as baseline_job:
        # The caller picks the launcher: this process, or one process per GPU.
        launch = partial(fine_tune_data_parallel, processes) if processes > 1 else fine_tune
        result = launch(
            base_model,
            split,
            labels,
            request.training,
            workdir / "output",
            on_progress=report,
            should_stop=stop,
            on_epoch_end=log_epoch,
        )
        report(Progress(step=0, total_steps=0, epoch=0.0, phase="evaluating"))
        evaluating_started = time.perf_counter()
        classifier = TextClassifier.load(result.model_dir)
        predictions = classifier.predict([doc.text for doc in split.test])
        evaluation = evaluate_predictions(
            [doc.label for doc in split.test], [p["label"] for p in predictions], labels
        )
        baseline = baseline_job.result()
    timings = {
        "train_seconds": result.train_seconds,
        "evaluate_seconds": time.perf_counter() - evaluating_started,
    }
    run.log_metrics({"best_epoch": float(result.best_epoch)})
    return evaluation, baseline, timings
