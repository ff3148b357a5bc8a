"""The training run: from a labeled folder to an evaluated, logged and maybe registered model.

Worker side: called by the job task (`jobs.tasks`) and by the CLI `train` command, which trains
in its own process. It imports torch (through `training`) lazily, so importing this module
stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custom_classifier.jobs.contract import JobResult, TrainingRequest
from custom_classifier.training.arguments import (
    Phase,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingArguments,
)

if TYPE_CHECKING:
    from custom_classifier.config import Settings
    from custom_classifier.corpus.models import Corpus, FrozenTest, Split
    from custom_classifier.jobs.cross_validation import OutOfFold
    from custom_classifier.jobs.gate import GateReport
    from custom_classifier.registry.run_logger import RunLogger
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.training.acceptance import AcceptanceDecision
    from custom_classifier.training.baseline_process import BaselineProcess
    from custom_classifier.training.cross_validation import EvaluationChoice, Plan
    from custom_classifier.training.evaluation import Evaluation
    from custom_classifier.training.trainer import FineTuneResult


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
    base_model: str | None = None
    """The base model of the registered (or judged) model: the bake-off's winner."""
    bakeoff: list[dict[str, Any]] | None = None
    """With several base models: one row per candidate (`bakeoff.Candidate` and `winner`)."""
    gate: dict[str, Any] | None = None
    """What the acceptance gate measured and decided (`jobs.gate.GateReport.to_dict`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "base_model": self.base_model,
            "bakeoff": self.bakeoff,
            "run_id": self.run_id,
            "accepted": self.accepted,
            "reasons": self.reasons,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "data_report": self.data_report,
            "registered_model": self.registered_model,
            "timings": self.timings,
        }

    def job_result(self) -> JobResult:
        """What the job row keeps besides the metrics, the run and the registered version."""
        return JobResult(
            reasons=self.reasons,
            baseline=self.baseline,
            data_report=self.data_report,
            timings=self.timings,
            base_model=self.base_model,
            bakeoff=self.bakeoff,
            gate=self.gate,
        )


def _noop_progress(progress: Progress) -> None:
    pass


def _never_stop() -> bool:
    return False


def run_training(
    request: TrainingRequest,
    settings: Settings,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> TrainingOutcome:
    """Read and validate the folder, fine-tune each base model, evaluate, log to MLflow, and
    register the winner if accepted: prepare -> train and evaluate -> record -> register.

    Raises `InvalidDatasetError` before any MLflow run exists when the data is invalid. Once the
    run has started, any failure ends it FAILED (cancellation: KILLED) and nothing is registered.
    With several base models, each trains in a child run of that run, on the same split.
    """
    import contextlib
    import tempfile

    from custom_classifier.jobs.warm_worker import import_job_modules
    from custom_classifier.registry.connect import open_registry
    from custom_classifier.training.baseline_process import SPARE

    report = on_progress or _noop_progress
    stop = should_stop or _never_stop
    timings = _Timings()
    with contextlib.ExitStack() as stack:
        # The baseline's child imports sklearn while the folder is read (a warm worker's spare
        # has already), and fits once it is split, beside everything up to the verdict.
        baseline_job = stack.enter_context(SPARE.take())
        registry = open_registry(settings)
        prepared = _prepare(request, settings, report, timings, registry)
        request, split, labels = prepared.request, prepared.split, prepared.labels
        _fit_baseline(baseline_job, request, split, labels)
        import_job_modules()  # the data is valid: the job will need them all
        run = stack.enter_context(
            registry.start_run(request.owner, request.name, _run_tags(request, prepared))
        )
        _log_inputs(run, request, prepared)
        context = _run_context(prepared, settings, registry, run)
        with tempfile.TemporaryDirectory(prefix="cc-train-") as workdir:
            trained = [
                _train_candidate(
                    context, name, index, len(prepared.names), Path(workdir), report, stop
                )
                for index, name in enumerate(prepared.names)
            ]
            winner, table = _pick_winner(context, trained)
            report(Progress.entering(Phase.EVALUATING))
            estimate = _cross_validate(context, prepared.plan, winner, Path(workdir), report, stop)
            judged = _judge(context, winner, table, baseline_job, estimate)
            SPARE.refill()  # the next job's child imports during logging and the int8 file
            timings.values.update(winner.timings)
            if estimate[0].seconds is not None:
                timings.values["kfold_seconds"] = estimate[0].seconds
            _record(run, judged)
            report(Progress.entering(Phase.LOGGING))
            if stop():
                from custom_classifier.errors import TrainingCancelledError

                raise TrainingCancelledError("the training was cancelled before registration")
            with timings.measure("log_seconds"):
                registered = _register(context, judged)
            timings.values["registered_seconds"] = timings.elapsed()
            if registered is not None and _int8_pending(judged):
                report(Progress.entering(Phase.INT8))
                with timings.measure("int8_seconds"):
                    judged = _serve_int8(context, judged, registered)
        timings.values["total_seconds"] = timings.elapsed()
        run.log_metrics({f"time_{k}": v for k, v in timings.values.items()})
    report(Progress.entering(Phase.DONE))
    return _outcome(run.run_id, judged, prepared, registered, timings)


def _run_context(
    prepared: _Prepared, settings: Settings, registry: Registry, run: RunLogger
) -> _RunContext:
    return _RunContext(
        prepared.request,
        settings,
        registry,
        run,
        prepared.split,
        prepared.labels,
        prepared.processes,
        frozen=prepared.frozen,
    )


def _fit_baseline(
    baseline: BaselineProcess, request: TrainingRequest, split: Split, labels: list[str]
) -> None:
    """Single-label: fitted on training + validation documents; multi-label: on the training
    documents, its per-label thresholds tuned on the validation ones (`training.baseline`)."""
    if request.training.mode == "multi":
        baseline.fit(
            split.train, split.test, labels, multi_label=True, validation_docs=split.validation
        )
    else:
        baseline.fit(split.train + split.validation, split.test, labels)


class _Timings:
    """Seconds per part of the training, from the moment it started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.values: dict[str, float] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.values[name] = time.perf_counter() - began


@dataclass(frozen=True)
class _Prepared:
    """The data read and split, and what will train on it."""

    request: TrainingRequest
    """As asked, with the mode resolved (`auto` becomes what the data report chose)."""
    corpus: Corpus
    split: Split
    names: list[str]
    """The base models to train (several: a bake-off)."""
    processes: int
    """Training processes (one per GPU for a large training)."""
    frozen: FrozenTest | None = None
    """The champion's test documents, which stay test documents."""
    plan: Plan | None = None
    """Held-out or k-fold (`training.cross_validation`), before the budget check."""

    @property
    def labels(self) -> list[str]:
        return self.corpus.labels


def _prepare(
    request: TrainingRequest,
    settings: Settings,
    report: ProgressCallback,
    timings: _Timings,
    registry: Registry,
) -> _Prepared:
    """Read and validate the folder, split it (the champion's test documents stay test
    documents), and choose the base models and processes."""
    from dataclasses import replace

    from custom_classifier.corpus.reader import load_corpus
    from custom_classifier.corpus.split import split_corpus
    from custom_classifier.jobs.bakeoff import expand_candidates
    from custom_classifier.registry.test_documents import find_champion_test
    from custom_classifier.training.cross_validation import plan_evaluation
    from custom_classifier.training.data_parallel import (
        estimated_training_tokens,
        training_processes,
    )

    def reading(files_read: int, files_total: int) -> None:
        report(Progress(step=files_read, total_steps=files_total, epoch=0.0, phase=Phase.READING))

    corpus = load_corpus(
        Path(request.location),
        request.labels,
        min_docs_per_label=settings.min_docs_per_label,
        on_read=reading,
        mode=request.training.mode,
        levels=request.training.levels,
    )
    args = replace(request.training, mode="multi" if corpus.report.mode == "multi" else "single")
    request = replace(request, training=args)
    frozen = find_champion_test(registry, request.owner, request.name)
    split = split_corpus(
        corpus.documents,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        frozen_test=frozenset(frozen.documents.paths) if frozen else frozenset(),
        seen=frozen.documents.seen if frozen else frozenset(),
    )
    timings.values["read_seconds"] = timings.elapsed()
    report(Progress.entering(Phase.PREPARING))
    names = _candidate_names(request, settings, expand_candidates)
    processes = training_processes(settings.training_gpus, estimated_training_tokens(split, args))
    plan = plan_evaluation(args, split, corpus.labels, settings.kfold_budget_seconds)
    return _Prepared(request, corpus, split, names, processes, frozen, plan)


def _run_tags(request: TrainingRequest, prepared: _Prepared) -> dict[str, str]:
    from custom_classifier.registry.tags import TAGS

    tags = {
        TAGS.location: str(request.location),
        TAGS.labels: ",".join(prepared.labels),
        TAGS.fingerprint: prepared.corpus.fingerprint,
    }
    if request.job_id:
        tags[TAGS.job_id] = request.job_id
    return tags


def _log_inputs(run: RunLogger, request: TrainingRequest, prepared: _Prepared) -> None:
    """The options, the data's sizes, its report and the split, before anything trains."""
    from custom_classifier.registry.test_documents import log_test_documents

    split = prepared.split
    run.log_params(
        {
            **request.training.to_dict(),
            **{f"acceptance.{k}": v for k, v in request.acceptance.to_dict().items()},
            "base_model": ",".join(prepared.names),
            "labels": ",".join(prepared.labels),
            "train_documents": len(split.train),
            "validation_documents": len(split.validation),
            "test_documents": len(split.test),
            "training_processes": prepared.processes,
        }
    )
    run.log_dict(prepared.corpus.report.to_dict(), "data_report.json")
    run.log_dict(split.ids(), "split.json")
    log_test_documents(run, split.test_documents())


@dataclass(frozen=True)
class _Judged:
    """The model to register or not, with the scores it was judged on."""

    winner: _Trained
    bakeoff: list[dict[str, Any]] | None
    baseline: Evaluation
    gate: GateReport

    @property
    def decision(self) -> AcceptanceDecision:
        return self.gate.decision

    @property
    def evaluation(self) -> Evaluation:
        """Of the artifact that serves on a CPU (`jobs.gate`)."""
        return self.gate.evaluation


def _cross_validate(
    context: _RunContext,
    plan: Plan | None,
    winner: _Trained,
    workdir: Path,
    report: ProgressCallback,
    stop: StopCheck,
) -> tuple[EvaluationChoice, OutOfFold | None]:
    """The winner's base model trained once per fold with the final model's launcher and
    options (no int8 copy: the folds only predict), when the plan and the budget say k-fold."""
    from dataclasses import replace

    from custom_classifier.jobs.cross_validation import cross_validate

    assert plan is not None  # _prepare always plans
    args = replace(context.request.training, export_onnx=False)
    launch = _launcher(context)

    def train_fold(fold: Split, folder: Path) -> Path:
        return launch(
            winner.loaded_from, fold, context.labels, args, folder, should_stop=stop
        ).model_dir

    return cross_validate(
        plan,
        context.split,
        context.labels,
        seed=args.seed,
        train_fold=train_fold,
        workdir=workdir,
        final_train_seconds=winner.timings["train_seconds"] - winner.timings["export_seconds"],
        report=report,
    )


def _launcher(context: _RunContext) -> Callable[..., FineTuneResult]:
    """`fine_tune` in this process, or one process per GPU for a large training."""
    from functools import partial

    from custom_classifier.training.data_parallel import fine_tune_data_parallel
    from custom_classifier.training.trainer import fine_tune

    processes = context.processes
    return partial(fine_tune_data_parallel, processes) if processes > 1 else fine_tune


def _judge(
    context: _RunContext,
    winner: _Trained,
    bakeoff: list[dict[str, Any]] | None,
    baseline_job: BaselineProcess,
    estimate: tuple[EvaluationChoice, OutOfFold | None],
) -> _Judged:
    """The acceptance gate (`jobs.gate`): the served artifact against the thresholds, the
    baseline and the champion, on the same test documents (or the baseline on the same
    out-of-fold documents); its scores calibrated."""
    from custom_classifier.jobs.gate import judge, score_champion, shared_test
    from custom_classifier.training.evaluation import evaluate_predictions

    request, split, labels = context.request, context.split, context.labels
    choice, out_of_fold = estimate
    if request.training.mode == "multi":
        return _judge_multilabel(context, winner, bakeoff, baseline_job, choice)
    champion = score_champion(
        context.registry, request.owner, request.name, [d.text for d in split.test], labels
    )
    gate = judge(
        winner.model_dir,
        split,
        labels,
        request.acceptance,
        baseline_predictions=baseline_job.predictions_when_fitted,
        champion=champion,
        min_score=request.training.min_score,
        estimate=choice,
        out_of_fold=out_of_fold,
        shared=shared_test(split, context.frozen),
        int8_pending=request.training.export_onnx,
    )
    if out_of_fold is None:
        baseline = baseline_job.result()
    else:
        baseline = evaluate_predictions(out_of_fold.truth, out_of_fold.baseline_predicted, labels)
    return _unregistered_without_int8(_Judged(winner, bakeoff, baseline, gate))


def _judge_multilabel(
    context: _RunContext,
    winner: _Trained,
    bakeoff: list[dict[str, Any]] | None,
    baseline_job: BaselineProcess,
    estimate: EvaluationChoice,
) -> _Judged:
    """The multi-label gate (`jobs.gate_multilabel`): thresholds tuned, label sets compared
    on the held-out test split (`estimate` says why it is not k-fold)."""
    from dataclasses import replace

    from custom_classifier.jobs.gate import shared_test
    from custom_classifier.jobs.gate_multilabel import judge_multilabel, score_multilabel_champion

    request, split, labels = context.request, context.split, context.labels
    champion = score_multilabel_champion(
        context.registry, request.owner, request.name, [d.text for d in split.test], labels
    )
    gate = judge_multilabel(
        winner.model_dir,
        split,
        labels,
        request.acceptance,
        baseline_predictions=baseline_job.predictions_when_fitted,
        champion=champion,
        min_score=request.training.min_score,
        shared=shared_test(split, context.frozen),
        int8_pending=request.training.export_onnx,
    )
    baseline = baseline_job.result()
    return _unregistered_without_int8(
        _Judged(winner, bakeoff, baseline, replace(gate, estimate=estimate))
    )


def _int8_pending(judged: _Judged) -> bool:
    from custom_classifier.training.served import INT8_PENDING

    return judged.gate.served.reason == INT8_PENDING


def _unregistered_without_int8(judged: _Judged) -> _Judged:
    """A rejected model is not registered, so no int8 file is made for it."""
    from dataclasses import replace

    from custom_classifier.training.served import NO_INT8_FILE

    if judged.decision.accepted or not _int8_pending(judged):
        return judged
    served = replace(judged.gate.served, reason=NO_INT8_FILE)
    return replace(judged, gate=replace(judged.gate, served=served))


def _serve_int8(context: _RunContext, judged: _Judged, registered: dict[str, Any]) -> _Judged:
    from dataclasses import replace

    from custom_classifier.jobs.int8_backend import serve_int8_when_faithful

    gate = serve_int8_when_faithful(
        context.registry,
        context.run,
        registered,
        judged.winner.model_dir,
        context.split,
        context.labels,
        judged.gate,
        multi_label=context.request.training.mode == "multi",
    )
    return replace(judged, gate=gate)


def _record(run: RunLogger, judged: _Judged) -> None:
    """The test scores, the baseline's and the confusion matrix (multi-label: the per-label
    confusion table, in `evaluation.json`), on the run."""
    evaluation, baseline = judged.evaluation, judged.baseline
    multi = {
        "test_micro_f1": evaluation.micro_f1,
        "test_hamming_loss": evaluation.hamming_loss,
        "test_label_cardinality": evaluation.label_cardinality,
        "baseline_micro_f1": baseline.micro_f1,
    }
    run.log_metrics(
        {
            "test_accuracy": evaluation.accuracy,
            "test_macro_f1": evaluation.macro_f1,
            "test_weighted_f1": evaluation.weighted_f1,
            "baseline_macro_f1": baseline.macro_f1,
            "baseline_accuracy": baseline.accuracy,
            **{f"test_f1.{label}": s.f1 for label, s in evaluation.per_label.items()},
            **{name: value for name, value in multi.items() if value is not None},
        }
    )
    run.log_dict(evaluation.to_dict(), "evaluation.json")
    run.log_dict(baseline.to_dict(), "baseline_evaluation.json")
    if not evaluation.multi_label:
        run.log_confusion_matrix(evaluation)
    run.log_metrics(judged.gate.metrics())
    estimate = judged.gate.estimate
    run.log_params({"evaluation_used": estimate.method, "evaluation_folds": estimate.folds or 0})
    run.set_tags(judged.gate.tags())
    run.log_dict(judged.gate.to_dict(), "gate.json")


def _register(context: _RunContext, judged: _Judged) -> dict[str, Any] | None:
    """An accepted model is logged and registered (`champion` moves to it, or `challenger` when
    the gate did not promote it); a rejected run is tagged with the reasons. The registered
    name, version and alias, or None."""
    from custom_classifier.registry.tags import TAGS

    run, registry, request = context.run, context.registry, context.request
    if not judged.decision.accepted:
        registry.mark_rejected(run.run_id, judged.decision.reasons)
        return None
    cpu_backend = None
    if _int8_pending(judged):  # every loader serves the exact model until the int8 file passes
        from custom_classifier.inference.classifier_folder import update_settings
        from custom_classifier.registry.cpu_backend import PENDING

        update_settings(judged.winner.model_dir, served={"cpu_backend": PENDING})
        cpu_backend = PENDING
    _log_models(run, judged.winner)
    alias = judged.decision.alias or "champion"
    version = registry.register(
        run.run_id,
        request.owner,
        request.name,
        alias=alias,
        min_score=request.training.min_score,
        cpu_backend=cpu_backend,
    )
    run.set_tags({TAGS.outcome: "accepted"})
    name = registry.registered_model_name(request.owner, request.name)
    return {"name": name, "version": version, "alias": alias}


def _outcome(
    run_id: str,
    judged: _Judged,
    prepared: _Prepared,
    registered: dict[str, Any] | None,
    timings: _Timings,
) -> TrainingOutcome:
    return TrainingOutcome(
        run_id=run_id,
        accepted=judged.decision.accepted,
        reasons=judged.decision.reasons,
        metrics=judged.evaluation.to_dict(),
        baseline=judged.baseline.to_dict(),
        data_report=prepared.corpus.report.to_dict(),
        registered_model=registered,
        timings=timings.values,
        base_model=judged.winner.name,
        bakeoff=judged.bakeoff,
        gate=judged.gate.to_dict(),
    )


def _candidate_names(
    request: TrainingRequest, settings: Settings, expand: Callable[..., list[str]]
) -> list[str]:
    from custom_classifier.errors import BaseModelError

    requested = list(request.chosen_base_models(settings.base_model))
    names = expand(requested, settings)
    if not names:
        raise BaseModelError(
            "base model `auto` found no preset that is available offline and fits this "
            "machine's memory; name base models explicitly (`custom-classifier models` lists "
            "the presets and why some are unavailable)",
            details={"base_models": requested},
        )
    return names


@dataclass(frozen=True)
class _RunContext:
    """What every candidate of one training shares."""

    request: TrainingRequest
    settings: Settings
    registry: Registry
    run: RunLogger
    split: Split
    labels: list[str]
    processes: int
    frozen: FrozenTest | None = None


@dataclass(frozen=True)
class _Trained:
    """A candidate after training and testing, with its files in the work folder."""

    name: str
    loaded_from: str
    model_dir: Path
    adapter_dir: Path | None
    history: list[dict[str, float]]
    best_epoch: int
    evaluation: Evaluation
    timings: dict[str, float]
    run_id: str | None


def _train_candidate(
    context: _RunContext,
    name: str,
    index: int,
    count: int,
    workdir: Path,
    report: ProgressCallback,
    stop: StopCheck,
) -> _Trained:
    """Resolve (a GGUF file is dequantized once), fine-tune and test one base model; in a child
    run of its own when there are several."""
    import contextlib

    from custom_classifier.training.memory import release_freed_memory
    from custom_classifier.training.presets import resolve_base_model

    progress = report if count == 1 else _tag_candidate(report, name, index, count)
    progress(Progress.entering(Phase.PREPARING))
    resolved = resolve_base_model(name, context.settings)
    runs = contextlib.nullcontext(context.run) if count == 1 else _child_run(context, name)
    with runs as run:
        run.log_params(
            {"base_model_path": resolved.path} | ({"base_model": name} if count > 1 else {})
        )

        def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
            run.log_metrics(metrics, step=epoch)

        result = _launcher(context)(
            resolved.path,
            context.split,
            context.labels,
            _candidate_arguments(context.request.training, count),
            workdir / f"candidate-{index}",
            on_progress=progress,
            should_stop=stop,
            on_epoch_end=log_epoch,
        )
        progress(Progress.entering(Phase.EVALUATING))
        evaluating_started = time.perf_counter()
        evaluation = _test(context, result.model_dir)
        release_freed_memory()  # the test's classifier: the gate loads its own
        timings = {
            "train_seconds": result.train_seconds,
            "export_seconds": result.export_seconds,
            "evaluate_seconds": time.perf_counter() - evaluating_started,
        }
        run.log_metrics({"best_epoch": float(result.best_epoch)})
        if count > 1:
            run.log_metrics({"test_macro_f1": evaluation.macro_f1, **timings})
    return _Trained(
        name=name,
        loaded_from=resolved.path,
        model_dir=result.model_dir,
        adapter_dir=result.adapter_dir,
        history=result.history,
        best_epoch=result.best_epoch,
        evaluation=evaluation,
        timings=timings,
        run_id=None if count == 1 else run.run_id,
    )


def _candidate_arguments(args: TrainingArguments, count: int) -> TrainingArguments:
    """A single model exports its int8 file after registration (`jobs.int8_backend`); a
    bake-off's candidates export theirs as they train, for their CPU latency, and the winner's
    is judged with it."""
    from dataclasses import replace

    return args if count > 1 else replace(args, export_onnx=False)


def _test(context: _RunContext, model_dir: Path) -> Evaluation:
    """The trained model's scores on the test split."""
    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training.evaluation import evaluate_multilabel, evaluate_predictions

    test = context.split.test
    predictions = TextClassifier.load(model_dir).predict([doc.text for doc in test])
    if context.request.training.mode == "multi":  # at 0.5: the gate tunes the thresholds
        return evaluate_multilabel(
            [doc.label_set for doc in test], [p["labels"] for p in predictions], context.labels
        )
    return evaluate_predictions(
        [doc.label for doc in test], [p["label"] for p in predictions], context.labels
    )


def _tag_candidate(report: ProgressCallback, name: str, index: int, count: int) -> ProgressCallback:
    """Progress reports that say which candidate of the bake-off is training."""
    from dataclasses import replace

    def tagged(progress: Progress) -> None:
        extra = {**progress.extra, "candidate": name, "candidate_number": index + 1}
        report(replace(progress, extra={**extra, "candidates": count}))

    return tagged


def _child_run(context: _RunContext, name: str) -> AbstractContextManager[RunLogger]:
    from custom_classifier.registry.tags import TAGS

    tags = {"mlflow.parentRunId": context.run.run_id, TAGS.candidate: name}
    if context.request.job_id:
        tags[TAGS.job_id] = context.request.job_id
    return context.registry.start_run(context.request.owner, context.request.name, tags)


def _pick_winner(
    context: _RunContext, trained: list[_Trained]
) -> tuple[_Trained, list[dict[str, Any]] | None]:
    """The candidate to judge and register, and the bake-off table (None for a single model).

    A bake-off measures each candidate's size and prediction latency, logs the table to the
    parent run and copies the winner's epoch curves there."""
    from custom_classifier.jobs import bakeoff

    if len(trained) == 1:
        return trained[0], None
    texts = [doc.text for doc in context.split.test]
    candidates = [
        bakeoff.Candidate(
            name=t.name,
            kind=_classifier_settings(t.model_dir).get("kind", "encoder"),
            fine_tuning="lora" if t.adapter_dir else "full",
            validation_macro_f1=_validation_macro_f1(t),
            test_macro_f1=t.evaluation.macro_f1,
            train_seconds=t.timings["train_seconds"],
            cpu_ms_per_document=bakeoff.latency_ms_per_document(t.model_dir, texts, "cpu"),
            gpu_ms_per_document=bakeoff.latency_ms_per_document(t.model_dir, texts, "cuda"),
            size_bytes=bakeoff.folder_bytes(t.model_dir),
            run_id=t.run_id,
        )
        for t in trained
    ]
    index = bakeoff.choose_winner(candidates, len(context.split.validation))
    table = bakeoff.report_table(candidates, index)
    winner = trained[index]
    context.run.log_dict({"candidates": table}, "bakeoff.json")
    context.run.log_params({"winner_base_model": winner.name})
    for entry in winner.history:
        metrics = {k: v for k, v in entry.items() if k != "epoch"}
        context.run.log_metrics(metrics, step=int(entry["epoch"]))
    return winner, table


def _validation_macro_f1(trained: _Trained) -> float | None:
    best = next((h for h in trained.history if int(h["epoch"]) == trained.best_epoch), None)
    return None if best is None else best.get("val_macro_f1")


def _classifier_settings(model_dir: Path) -> dict[str, Any]:
    from custom_classifier.inference.classifier_folder import read_settings

    return read_settings(model_dir)


def _log_models(run: RunLogger, winner: _Trained) -> None:
    """The merged model for serving; with LoRA, the adapters and head beside it (`adapter/`),
    with the base model they apply to."""
    import json

    from custom_classifier.registry.tags import TAGS
    from custom_classifier.training.backbones import ADAPTER_FOLDER, BASE_MODEL_FILE

    run.log_classifier_model(winner.model_dir)
    if winner.adapter_dir is not None:
        named = {"base_model": winner.name, "loaded_from": winner.loaded_from}
        (winner.adapter_dir / BASE_MODEL_FILE).write_text(json.dumps(named, indent=2))
        run.log_artifacts(winner.adapter_dir, ADAPTER_FOLDER)
    run.set_tags({TAGS.base_model: winner.name})
