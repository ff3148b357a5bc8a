"""The `custom-classifier` command line."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from custom_classifier.config import get_settings
from custom_classifier.errors import CustomClassifierError, InvalidDatasetError
from custom_classifier.training.arguments import (
    AcceptanceCriteria,
    TrainingArguments,
    inclusive_bounds,
)
from custom_classifier.training.process_environment import use_serving_environment
from custom_classifier.verbosity import quiet_by_default, show_third_party_output

if TYPE_CHECKING:
    from custom_classifier.inference.predictor import Predictor
    from custom_classifier.services.users import Identity

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
use_serving_environment()
quiet_by_default()

app = typer.Typer(help="Train and serve document classifiers from folders of labeled documents.")
console = Console(stderr=True)

EXIT_ACCEPTED = 0
EXIT_INVALID_DATA = 2
EXIT_REJECTED = 3
EXIT_ERROR = 1


class Promotion(StrEnum):
    not_worse = "not_worse"
    better = "better"


class Mode(StrEnum):
    single = "single"
    multi = "multi"
    auto = "auto"


class EvaluationOption(StrEnum):
    auto = "auto"
    kfold = "kfold"
    holdout = "holdout"


class Strategy(StrEnum):
    head = "head"
    chunks = "chunks"


LabelsOption = Annotated[
    list[str],
    typer.Option("--label", "-l", help="A label folder (or path, `sport/football`) to use."),
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Act as this user of the service: the classifiers are theirs, as in the web UI "
        "and the API. Default: the first admin.",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also show MLflow's and transformers' progress bars and messages."
    ),
]
DEFAULT_TRAINING = TrainingArguments()


def _bounds(arguments: type, name: str) -> dict[str, Any]:
    """typer's `min` and `max` for an option: the bounds declared on the field."""
    low, high = inclusive_bounds(arguments, name)
    return {"min": low, "max": high}


DepthOption = Annotated[
    int | None,
    typer.Option(
        **_bounds(TrainingArguments, "depth"),
        help="The level of nested label folders to train: 1 the top-level folders (their "
        "sub-folders' documents count for them), 2 their sub-folders, ...",
        show_default="flat: each --label folder is a label",
    ),
]
HierarchicalOption = Annotated[
    bool,
    typer.Option(
        "--hierarchical",
        help="Train the deepest folders (or those at --depth); predictions give the path "
        "with a score per level.",
    ),
]
DEFAULT_ACCEPTANCE = AcceptanceCriteria()
DEFAULT_STRATEGY = Strategy(DEFAULT_TRAINING.long_document_strategy)
DEFAULT_PROMOTION = Promotion(DEFAULT_ACCEPTANCE.promote)
DEFAULT_MODE = Mode(DEFAULT_TRAINING.mode)
DEFAULT_EVALUATION = EvaluationOption(DEFAULT_TRAINING.evaluation)


def _fail(error: CustomClassifierError, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": error.to_dict()}, default=str))
    elif report := error.details.get("report"):  # the problems, each once
        console.print(
            f"[bold red]error[/] ({error.code}): the labeled folder {report['root']} cannot be "
            "used for training:"
        )
        for problem in report["problems"]:
            console.print(f"  - {problem['message']}")
    else:
        console.print(f"[bold red]error[/] ({error.code}): {error.message}")
    code = EXIT_INVALID_DATA if isinstance(error, InvalidDatasetError) else EXIT_ERROR
    if error.code in (
        "location_not_found",
        "location_not_allowed",
        "invalid_location",
        "invalid_request",
    ):
        code = EXIT_INVALID_DATA
    raise typer.Exit(code)


def _acting_user(username: str | None, as_json: bool) -> Identity:
    """The user the command acts as; an empty install gets its admin, whose key is shown once."""
    from custom_classifier.services.users import command_line_user
    from custom_classifier.storage.engine import Database
    from custom_classifier.storage.migrate import upgrade

    settings = get_settings()
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    database = Database.connect(settings.resolved_admin_database_url)
    try:
        upgrade(database.engine, "admin")
        with database.session() as session:
            identity, created = command_line_user(session, username)
    except CustomClassifierError as error:
        _fail(error, as_json)
    finally:
        database.dispose()
    if created is not None:
        console.print(
            f"Created the admin user {identity.username!r} (the web UI and the API know it too). "
            f"Its API key (shown only now):\n\n    {created.key}\n"
        )
    return identity


def _print_label_tree(report: dict[str, Any]) -> None:
    """The folders read, with documents used of found per node; the labels trained in bold."""
    from rich.tree import Tree

    level = "flat" if not report.get("depth") else f"depth {report['depth']}"
    level += ", hierarchical" if report.get("hierarchical") else ""
    tree = Tree(f"Label tree ({level}): documents used / found")

    def add(branch: Tree, node: dict[str, Any]) -> None:
        name = f"[bold]{node['name']}[/]" if node["trained"] else node["name"]
        line = f"{name}  {node['used']} / {node['documents']}"
        if node["left_out"]:
            line += f"  ({node['left_out']} directly here, above the level trained: unused)"
        child = branch.add(line)
        for below in node["children"]:
            add(child, below)

    for node in report.get("tree") or []:
        add(tree, node)
    console.print(tree)


def _print_data_report(report: dict[str, Any]) -> None:
    table = Table(title=f"Data report: {report['root']}")
    for column in ("label", "found", "used", "skipped"):
        table.add_column(column)
    for label in report["labels"]:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(label["skipped"].items()))
        table.add_row(label["label"], str(label["found"]), str(label["used"]), skipped or "-")
    console.print(table)
    if any(node["children"] for node in report.get("tree") or []):
        _print_label_tree(report)
    if report.get("mode_note"):
        console.print(report["mode_note"])
    for problem in report["problems"]:
        console.print(f"[red]problem[/]: {problem['message']}")


def _print_evaluation(outcome: dict[str, Any]) -> None:
    metrics, baseline = outcome["metrics"], outcome["baseline"]
    kfold = ((outcome.get("gate") or {}).get("evaluation") or {}).get("method") == "kfold"
    table = Table(title="Out-of-fold evaluation" if kfold else "Evaluation on the test split")
    for column in ("label", "precision", "recall", "f1", "support"):
        table.add_column(column)
    for label, s in metrics["per_label"].items():
        table.add_row(
            label,
            f"{s['precision']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['f1']:.3f}",
            str(s["support"]),
        )
    console.print(table)
    if metrics.get("multi_label"):
        console.print(
            f"multi-label: micro-F1 {metrics['micro_f1']:.3f}  macro-F1 {metrics['macro_f1']:.3f}"
            f"  subset accuracy {metrics['accuracy']:.3f}  Hamming loss "
            f"{metrics['hamming_loss']:.3f}  (one-vs-rest TF-IDF baseline: micro-F1 "
            f"{baseline['micro_f1']:.3f}, macro-F1 {baseline['macro_f1']:.3f})"
        )
    else:
        console.print(
            f"accuracy {metrics['accuracy']:.3f}  macro-F1 {metrics['macro_f1']:.3f}  "
            f"(TF-IDF baseline macro-F1 {baseline['macro_f1']:.3f})"
        )
    if outcome.get("gate"):
        _print_gate(outcome["gate"])
    if outcome["accepted"]:
        model = outcome["registered_model"]
        alias = model.get("alias") or "champion"
        console.print(
            f"[bold green]accepted[/]: registered as {model['name']!r} version {model['version']} "
            f"(alias {alias}) of {outcome['owner']}; run {outcome['run_id']}\n"
            f"  custom-classifier predict {model['name']} --text '...'"
        )
        for note in outcome["gate"]["notes"] if outcome.get("gate") else []:
            console.print(f"  - {note}")
    else:
        console.print(f"[bold yellow]rejected[/]: run {outcome['run_id']}, nothing registered")
        for reason in outcome["reasons"]:
            console.print(f"  - {reason}")


def _interval(estimate: dict[str, float]) -> str:
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"


def _print_gate(gate: dict[str, Any]) -> None:
    """How the scores were estimated, intervals, the paired verdicts, what serves and the
    calibration, one line each."""
    intervals, estimate = gate["intervals"], gate.get("evaluation") or {}
    kfold = estimate.get("method") == "kfold"
    if estimate:
        used = f"{estimate['folds']}-fold cross-validation" if kfold else "held-out test split"
        console.print(f"evaluation: {used} - {estimate['reason']}")
    if kfold and gate.get("holdout"):
        console.print(
            f"  the registered model on the held-out test split: macro-F1 "
            f"{gate['holdout']['macro_f1']:.3f}"
        )
    console.print(
        f"95 % intervals over {intervals['documents']} "
        f"{'out-of-fold' if kfold else 'test'} documents: "
        f"macro-F1 {_interval(intervals['macro_f1'])}  accuracy {_interval(intervals['accuracy'])}"
    )
    for who in ("baseline", "champion"):
        comparison = gate.get(who)
        if comparison:
            named = (
                "TF-IDF baseline" if who == "baseline" else f"champion v{gate['champion_version']}"
            )
            console.print(
                f"vs {named}: {comparison['verdict']}, difference {comparison['difference']:+.3f} "
                f"[{comparison['low']:+.3f}, {comparison['high']:+.3f}], "
                f"McNemar p {comparison['mcnemar_p']:.3g}"
            )
    shared = gate.get("shared_test")
    if shared:
        console.print(
            f"test documents shared with champion v{shared['champion_version']}: "
            f"{shared['shared']} of {shared['test_documents']} "
            f"(the champion had {shared['champion_documents']})"
        )
    served = gate["served"]
    int8 = served.get("int8_macro_f1")
    line = f"serves on CPU: {served['backend']}"
    if int8 is not None:
        line += (
            f" (int8 macro-F1 {int8:.3f}, exact {served['exact_macro_f1']:.3f}, "
            f"label agreement {100 * served['agreement']:.1f} %)"
        )
    console.print(line)
    calibration = gate["calibration"]
    if calibration is None:  # multi-label: per-label thresholds instead of a temperature
        tuned = ", ".join(f"{k} {v:.2f}" for k, v in (gate.get("thresholds") or {}).items())
        console.print(f"thresholds (tuned on validation): {tuned}")
        return
    console.print(
        f"calibration: temperature {calibration['temperature']:.2f}, test ECE "
        f"{calibration['test_ece_before']:.3f} -> {calibration['test_ece_after']:.3f}"
    )
    suggested = calibration.get("suggested")
    if suggested:
        console.print(
            f"  for {100 * suggested['target_precision']:.0f} % precision: --min-score "
            f"{suggested['min_score']:.2f} would label {100 * suggested['coverage']:.0f} % of the "
            "validation documents"
        )


def _print_bakeoff(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Bake-off (the winner is judged and registered)")
    columns = ("candidate", "val macro-F1", "test macro-F1", "train s", "CPU ms/doc")
    for column in (*columns, "GPU ms/doc", "size MB"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            ("* " if row["winner"] else "  ") + row["name"],
            _score(row["validation_macro_f1"]),
            _score(row["test_macro_f1"]),
            f"{row['train_seconds']:.0f}",
            _score(row["cpu_ms_per_document"], ".0f"),
            _score(row["gpu_ms_per_document"], ".1f"),
            f"{row['size_bytes'] / 1e6:.0f}",
        )
    console.print(table)


def _score(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


@app.command()
def inspect(
    data_dir: Annotated[Path, typer.Argument(help="The folder with one sub-folder per label.")],
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label", "-l", help="A label folder to check.", show_default="every label folder"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    depth: DepthOption = None,
    hierarchical: HierarchicalOption = False,
) -> None:
    """Print the data report of a labeled folder without training, with its label tree."""
    from custom_classifier.corpus.label_tree import Levels
    from custom_classifier.corpus.reader import inspect_corpus, list_label_folders

    settings = get_settings()
    try:
        labels = label or list_label_folders(data_dir)
        corpus = inspect_corpus(
            data_dir,
            labels,
            min_docs_per_label=settings.min_docs_per_label,
            mode="auto",
            levels=Levels(depth=depth, hierarchical=hierarchical),
        )
    except CustomClassifierError as error:
        _fail(error, as_json)
    report = corpus.report.to_dict()
    if as_json:
        typer.echo(json.dumps(report))
    else:
        _print_data_report(report)
    raise typer.Exit(EXIT_ACCEPTED if corpus.report.ok else EXIT_INVALID_DATA)


@app.command()
def train(
    data_dir: Annotated[Path, typer.Argument(help="The folder with one sub-folder per label.")],
    name: Annotated[str, typer.Option(help="The classifier's name (registered model name).")],
    label: LabelsOption,
    base_model: Annotated[
        list[str] | None,
        typer.Option(
            "--base-model",
            help="A preset (`custom-classifier models`), Hugging Face id, folder or .gguf "
            "file; repeat it, or give `auto`, for a bake-off.",
        ),
    ] = None,
    epochs: Annotated[
        int,
        typer.Option(
            **_bounds(TrainingArguments, "epochs"),
            help="Most passes over the training documents; early stopping may end sooner.",
        ),
    ] = DEFAULT_TRAINING.epochs,
    max_length: Annotated[
        int,
        typer.Option(
            **_bounds(TrainingArguments, "max_length"),
            help="Tokens the model reads per window (longer documents: see the strategy).",
        ),
    ] = DEFAULT_TRAINING.max_length,
    batch_size: Annotated[
        int,
        typer.Option(
            **_bounds(TrainingArguments, "batch_size"),
            help="Windows per training step on a CPU (a GPU takes "
            f"{DEFAULT_TRAINING.gpu_batch_size}).",
        ),
    ] = DEFAULT_TRAINING.batch_size,
    long_document_strategy: Annotated[
        Strategy, typer.Option(help="`head` truncates; `chunks` uses overlapping windows.")
    ] = DEFAULT_STRATEGY,
    mode: Annotated[
        Mode,
        typer.Option(
            help="`single`: one label per document; `multi`: a document in several label "
            "folders carries all of them; `auto`: multi when at least 1 % of the documents do."
        ),
    ] = DEFAULT_MODE,
    depth: DepthOption = None,
    hierarchical: HierarchicalOption = False,
    min_macro_f1: Annotated[
        float,
        typer.Option(
            **_bounds(AcceptanceCriteria, "min_macro_f1"),
            help="Register only if the test macro-F1 reaches this.",
        ),
    ] = DEFAULT_ACCEPTANCE.min_macro_f1,
    min_label_f1: Annotated[
        float,
        typer.Option(
            **_bounds(AcceptanceCriteria, "min_label_f1"),
            help="Register only if every label's test F1 reaches this.",
        ),
    ] = DEFAULT_ACCEPTANCE.min_label_f1,
    beat_baseline: Annotated[
        bool,
        typer.Option(
            help="Reject a model significantly worse than the TF-IDF baseline on the same "
            "test documents (paired bootstrap and McNemar's test)."
        ),
    ] = DEFAULT_ACCEPTANCE.beat_baseline,
    promote: Annotated[
        Promotion,
        typer.Option(
            help="Against the current champion on the same test documents: `not_worse` "
            "promotes unless a significant regression, `better` only a significant "
            "improvement; otherwise the version is registered as `challenger`."
        ),
    ] = DEFAULT_PROMOTION,
    min_score: Annotated[
        float,
        typer.Option(
            **_bounds(TrainingArguments, "min_score"),
            help="Abstain threshold: predictions whose calibrated score is below it answer "
            "no label (unsure). 0 never abstains.",
        ),
    ] = DEFAULT_TRAINING.min_score,
    evaluation: Annotated[
        EvaluationOption,
        typer.Option(help="Test split or k-fold; auto: k-fold for a small test split, in budget."),
    ] = DEFAULT_EVALUATION,
    folds: Annotated[
        int, typer.Option(**_bounds(TrainingArguments, "folds"), help="Folds for k-fold.")
    ] = DEFAULT_TRAINING.folds,
    kfold_budget_seconds: Annotated[
        int | None,
        typer.Option(
            **_bounds(TrainingArguments, "kfold_budget_seconds"),
            help="Seconds `auto` lets the folds add (estimated from the final training, "
            "checked after the first fold) [default: CC_KFOLD_BUDGET_SECONDS, 300].",
        ),
    ] = None,
    user: UserOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """Fine-tune, evaluate and (if accepted) register a classifier. Exit 0 accepted, 3 rejected."""
    from dataclasses import replace

    from custom_classifier.jobs.contract import TrainingRequest
    from custom_classifier.jobs.training_run import run_training
    from custom_classifier.services.jobs import validate_classifier_name
    from custom_classifier.training.process_environment import use_training_environment

    show_third_party_output(verbose)
    use_training_environment()

    settings = get_settings()
    try:
        validate_classifier_name(name)
    except CustomClassifierError as error:
        _fail(error, as_json)
    owner = _acting_user(user, as_json)
    try:
        training = replace(
            DEFAULT_TRAINING,
            epochs=epochs,
            max_length=max_length,
            batch_size=batch_size,
            long_document_strategy=long_document_strategy.value,
            mode=mode.value,
            depth=depth,
            hierarchical=hierarchical,
            min_score=min_score,
            evaluation=evaluation.value,
            folds=folds,
            kfold_budget_seconds=kfold_budget_seconds,
        )
        acceptance = AcceptanceCriteria(
            min_macro_f1=min_macro_f1,
            min_label_f1=min_label_f1,
            beat_baseline=beat_baseline,
            promote=promote.value,
        )
    except CustomClassifierError as error:
        _fail(error, as_json)
    request = TrainingRequest(
        name=name,
        location=str(data_dir.resolve()),
        labels=label,
        owner=owner.username,
        base_model=base_model[0] if base_model and len(base_model) == 1 else None,
        base_models=tuple(base_model) if base_model and len(base_model) > 1 else (),
        training=training,
        acceptance=acceptance,
    )
    from custom_classifier.progress_bar import TrainingProgressBar

    try:
        with TrainingProgressBar(console) as bar:
            outcome = run_training(request, settings, on_progress=bar.update)
    except CustomClassifierError as error:
        _fail(error, as_json)
    _print_outcome(outcome.to_dict() | {"owner": owner.username}, name, as_json)
    raise typer.Exit(EXIT_ACCEPTED if outcome.accepted else EXIT_REJECTED)


def _print_outcome(result: dict[str, Any], name: str, as_json: bool) -> None:
    registered = result["registered_model"]
    if registered:  # users name classifiers; `<owner>.<name>` is the registry's
        result["registered_model"] = {
            "name": name,
            "version": registered["version"],
            "alias": registered.get("alias"),
        }
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    _print_data_report(result["data_report"])
    if result.get("bakeoff"):
        _print_bakeoff(result["bakeoff"])
    _print_evaluation(result)


@app.command()
def predict(
    model: Annotated[
        str,
        typer.Argument(
            help="A classifier as NAME, NAME@ALIAS or NAME/VERSION (also after models:/; "
            "default alias champion), or the run id of a training."
        ),
    ],
    text: Annotated[list[str] | None, typer.Option("--text", help="A text to classify.")] = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="A document to classify.")
    ] = None,
    user: UserOption = None,
    folder: Annotated[
        Path | None,
        typer.Option("--folder", help="Classify every document under this folder (resumable)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Where --folder writes predictions.csv and .jsonl [default: FOLDER.predictions]",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Classify texts, documents or a whole folder with a trained model."""
    show_third_party_output(verbose)
    from custom_classifier.inference.predictor import Predictor
    from custom_classifier.registry.connect import open_registry
    from custom_classifier.services import predictions

    settings = get_settings()
    if not text and not file and folder is None:
        console.print("[red]error[/]: give at least one --text, --file or --folder")
        raise typer.Exit(EXIT_INVALID_DATA)
    identity = _acting_user(user, as_json)
    registry = open_registry(settings)
    predictor = Predictor(registry)
    results: list[dict[str, Any]] = []
    try:
        reference = predictions.parse_model_reference(model, identity)
        if folder is not None:
            uri = predictions.resolved_model_uri(predictor, registry, identity, reference)
            _predict_folder(predictor, uri, folder, output, as_json)
            return
        if isinstance(reference, predictions.NamedModel):
            named = (predictor, registry, identity, reference.name, reference.ref)
            for item in text or []:
                answer = predictions.predict_texts_by_name(*named, [item])[0]
                results.append({"input": item[:60], **answer})
            for path in file or []:
                answer = predictions.predict_file_by_name(*named, path.name, path.read_bytes())
                results.append({"input": str(path), **answer})
        else:
            for item in text or []:
                answer = predictor.predict_texts(reference, [item])[0]
                results.append({"input": item[:60], **answer})
            for path in file or []:
                answer = predictor.predict_file(reference, path.name, path.read_bytes())
                results.append({"input": str(path), **answer})
    except CustomClassifierError as error:
        _fail(error, as_json)
    except OSError as error:
        console.print(f"[red]error[/]: cannot read {error.filename}: {error.strerror}")
        raise typer.Exit(EXIT_INVALID_DATA) from None
    if as_json:
        typer.echo(json.dumps(results if len(results) > 1 else results[0]))
        return
    for result in results:
        console.print(prediction_line(result))


def prediction_line(result: dict[str, Any]) -> str:
    """`label  score  input`; a hierarchical prediction adds each level's node and score."""
    label = "unsure" if result.get("abstained") else result["label"]
    if result.get("labels"):  # multi-label: every label at or above its threshold
        label = ",".join(result["labels"])
    line = f"{label}  {result['score']:.3f}  {result['input']}"
    if result.get("path"):
        steps = " > ".join(f"{step['label']} {step['score']:.3f}" for step in result["path"])
        line += f"  (path: {steps})"
    return line


@app.command("min-score")
def min_score(
    name: Annotated[str, typer.Argument(help="The classifier.")],
    value: Annotated[
        float,
        typer.Argument(
            help="The abstain threshold: a prediction whose calibrated score is below it answers "
            "no label (abstained). 0 never abstains.",
            **_bounds(TrainingArguments, "min_score"),
        ),
    ],
    alias: Annotated[
        str, typer.Option("--alias", help="Whose version gets it; other aliases keep theirs.")
    ] = "champion",
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Set the abstain threshold of a classifier's alias after training (recorded in MLflow on
    the version it points at; predictions apply it at once)."""
    from custom_classifier.registry.connect import open_registry
    from custom_classifier.services import classifiers

    identity = _acting_user(user, as_json)
    try:
        info = classifiers.set_min_score(
            open_registry(get_settings()), identity, name, alias, value
        )
    except CustomClassifierError as error:
        _fail(error, as_json)
    version = info.aliases[alias]
    if as_json:
        typer.echo(
            json.dumps({"name": name, "alias": alias, "version": version, "min_score": value})
        )
        return
    console.print(f"{name}@{alias} (version {version}) now abstains below {value:g}")


def _predict_folder(
    predictor: Predictor, uri: str, folder: Path, output: Path | None, as_json: bool
) -> None:
    """Classify a folder with a progress bar; print where the files are and the summary."""
    from custom_classifier.inference.folder_predictions import CSV_NAME, JSONL_NAME, classify_folder
    from custom_classifier.progress_bar import FolderProgressBar

    output = output or folder.with_name(folder.name + ".predictions")
    with FolderProgressBar(console) as bar:
        summary = classify_folder(predictor, uri, folder, output, on_progress=bar.update)
    files = {"csv": str(output / CSV_NAME), "jsonl": str(output / JSONL_NAME)}
    if as_json:
        typer.echo(json.dumps({**summary.to_dict(), "files": files}))
        return
    console.print(
        f"{summary.total} documents: {summary.classified} classified, "
        f"{summary.unreadable} unreadable, {summary.resumed} already done before"
    )
    for label, count in summary.labels.items():
        console.print(f"  {label}  {count}")
    console.print(f"predictions: {files['csv']}  {files['jsonl']}")


def _register_optional_commands() -> None:
    """Commands of the serving side, registered when their modules exist."""
    import importlib

    for module_name in (
        "custom_classifier.cli_serve",
        "custom_classifier.cli_admin",
        "custom_classifier.cli_worker",
        "custom_classifier.cli_mlflow",
        "custom_classifier.cli_models",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(app)


_register_optional_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
